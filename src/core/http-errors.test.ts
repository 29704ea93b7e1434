import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CATALOGUE, type ErrorCode } from './error-codes.js';
import { BadRequest, HttpError, MethodNotAllowed } from './http-errors.js';
import { FramingError } from '../server/request-framing.js';
import { LimitsUnavailable, QueryTooExpensive, TooManyRequests, WriteTooLarge } from '../limits/limit-errors.js';

test("an HttpError answers with the status of its code's catalogue row, whichever class builds it", () => {
  for (const code of Object.keys(ERROR_CATALOGUE) as ErrorCode[]) {
    assert.equal(new HttpError(code, 'm').status, ERROR_CATALOGUE[code].status, code);
  }
  const built: HttpError[] = [
    new BadRequest('invalid_time_range', 'm'),
    new MethodNotAllowed('m', 'GET'),
    new FramingError('unsupported_transfer_encoding', 'm'),
    new TooManyRequests('concurrency_limited', 'm', 'r', 1),
    new QueryTooExpensive('too_many_points', 'm', 'r'),
    new WriteTooLarge('body_too_large', 'm', 'r'),
    new WriteTooLarge('too_many_series', 'm', 'r'),
    new LimitsUnavailable(),
  ];
  assert.deepEqual(
    built.map((e) => [e.code, e.status]),
    built.map((e) => [e.code, ERROR_CATALOGUE[e.code].status]),
  );
  assert.deepEqual(
    built.map((e) => e.status),
    [400, 405, 501, 429, 422, 413, 422, 503],
  );
});
