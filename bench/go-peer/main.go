// The Go peer of the bench: what LGTM Auth Proxy, lfgw and prometheus-multi-tenant-proxy are built on,
// net/http/httputil.ReverseProxy, with a static token map and the tenant header. A token with a namespace has
// its remote writes checked series by series (write.go). Standard library plus Debian's snappy and gogo/protobuf
// (golang-github-golang-snappy-dev, golang-github-gogo-protobuf-dev), built in GOPATH mode, no module download:
//
//	cd bench/go-peer && GO111MODULE=off GOPATH=/usr/share/gocode go build -o /tmp/go-peer .
//	SCOPEGATE_TOKENS='{"token":{"tenant":"t","namespace":"team-a"}}' /tmp/go-peer -upstream http://127.0.0.1:9090
//
// Prints its port as the first stdout line (like bench/upstream.ts); exits when stdin closes.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

type identity struct {
	Tenant string `json:"tenant"`
	// Namespace, when set, limits the token's remote writes to series of that namespace.
	Namespace string `json:"namespace"`
}

func main() {
	upstream := flag.String("upstream", "", "upstream origin, e.g. http://127.0.0.1:9090")
	listen := flag.String("listen", "127.0.0.1:0", "listen address")
	benchWrite := flag.String("bench-write", "", "time checkRemoteWrite on this snappy body in process for 2 s, print CPU µs per call, exit")
	flag.Parse()
	if *benchWrite != "" {
		timeCheck(*benchWrite)
		return
	}
	target, err := url.Parse(*upstream)
	if err != nil || target.Host == "" {
		log.Fatalf("-upstream: %q is not an origin", *upstream)
	}
	tokens := map[string]identity{}
	if err := json.Unmarshal([]byte(os.Getenv("SCOPEGATE_TOKENS")), &tokens); err != nil {
		log.Fatalf("SCOPEGATE_TOKENS: %v", err)
	}

	proxy := httputil.NewSingleHostReverseProxy(target)
	// As the Go proxies ship: the default transport, with enough idle connections for the bench's load.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 256
	proxy.Transport = transport

	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		r.Header.Set("X-Scope-OrgID", id.Tenant)
		if id.Namespace != "" && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/api/v1/write") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			if _, err := checkRemoteWrite(body, "namespace", map[string]struct{}{id.Namespace: {}}); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		proxy.ServeHTTP(w, r)
	})

	listener, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(listener.Addr().(*net.TCPAddr).Port)
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	log.Fatal(http.Serve(listener, handler))
}

// timeCheck prints the process CPU time per checkRemoteWrite call (user + system, as the bench reads scopegate's):
// the decoder against decoder figure, without sockets.
func timeCheck(path string) {
	body, err := os.ReadFile(path)
	if err != nil {
		log.Fatal(err)
	}
	allowed := map[string]struct{}{"team-a": {}}
	for i := 0; i < 50; i++ {
		if _, err := checkRemoteWrite(body, "namespace", allowed); err != nil {
			log.Fatal(err)
		}
	}
	cpu := func() time.Duration {
		var usage syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
		return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
	}
	start, began, calls, series := cpu(), time.Now(), 0, 0
	for time.Since(began) < 2*time.Second {
		n, _ := checkRemoteWrite(body, "namespace", allowed)
		series = n
		calls++
	}
	perCall := float64(cpu()-start) / float64(calls) / 1e3
	fmt.Printf("%.1f µs CPU per call, %d series, %.2f M series/s\n", perCall, series, float64(series)/perCall)
}
