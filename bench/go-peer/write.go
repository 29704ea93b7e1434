package main

// The Go peer's remote-write check, the work scopegate's enforcer does for a limited identity, done the way
// cortex-tenant and Mimir's distributor read the body: snappy-decode it (github.com/golang/snappy), walk every
// series with gogo/protobuf's varint reader, compare the policy's label as bytes (no string per label, as Mimir's
// yoloString), refuse the request if any series lacks the label or holds a value outside the allowed set, and
// forward the original bytes. Remote write 1.0 only (prometheus.WriteRequest: timeseries = 1, labels = 1,
// name = 1, value = 2).

import (
	"errors"
	"fmt"

	"github.com/gogo/protobuf/proto"
	"github.com/golang/snappy"
)

var errMalformed = errors.New("malformed protobuf")

// field reads the field at b[i:]: its number, wire type, the payload of a length-delimited one, and where the
// next field starts.
func field(b []byte, i int) (number uint64, wireType uint64, payload []byte, next int, err error) {
	tag, n := proto.DecodeVarint(b[i:])
	if n == 0 {
		return 0, 0, nil, 0, errMalformed
	}
	i += n
	number, wireType = tag>>3, tag&7
	switch wireType {
	case 0:
		_, n = proto.DecodeVarint(b[i:])
		if n == 0 {
			return 0, 0, nil, 0, errMalformed
		}
		return number, wireType, nil, i + n, nil
	case 1:
		i += 8
	case 2:
		length, n := proto.DecodeVarint(b[i:])
		if n == 0 || uint64(len(b)-i-n) < length {
			return 0, 0, nil, 0, errMalformed
		}
		start := i + n
		return number, wireType, b[start : start+int(length)], start + int(length), nil
	case 5:
		i += 4
	default:
		return 0, 0, nil, 0, errMalformed
	}
	if i > len(b) {
		return 0, 0, nil, 0, errMalformed
	}
	return number, wireType, nil, i, nil
}

// checkRemoteWrite returns the number of series of a snappy remote write body, or an error naming the first
// series whose `label` is missing, repeated or not in `allowed`.
func checkRemoteWrite(body []byte, label string, allowed map[string]struct{}) (int, error) {
	message, err := snappy.Decode(nil, body)
	if err != nil {
		return 0, err
	}
	series := 0
	for i := 0; i < len(message); {
		number, wireType, payload, next, err := field(message, i)
		if err != nil {
			return 0, err
		}
		i = next
		if number != 1 {
			continue
		}
		if wireType != 2 {
			return 0, errMalformed
		}
		if err := checkSeries(payload, label, allowed); err != nil {
			return 0, fmt.Errorf("series %d: %w", series, err)
		}
		series++
	}
	return series, nil
}

func checkSeries(series []byte, label string, allowed map[string]struct{}) error {
	found := 0
	var value []byte
	for i := 0; i < len(series); {
		number, wireType, payload, next, err := field(series, i)
		if err != nil {
			return err
		}
		i = next
		if number != 1 {
			continue
		}
		if wireType != 2 {
			return errMalformed
		}
		var name, v []byte
		for j := 0; j < len(payload); {
			n, wt, p, after, err := field(payload, j)
			if err != nil {
				return err
			}
			j = after
			if wt == 2 && n == 1 {
				name = p
			} else if wt == 2 && n == 2 {
				v = p
			}
		}
		if string(name) == label {
			found++
			value = v
		}
	}
	if found != 1 || len(value) == 0 {
		return fmt.Errorf("label %q missing or repeated", label)
	}
	if _, ok := allowed[string(value)]; !ok {
		return fmt.Errorf("label %q value not allowed", label)
	}
	return nil
}
