import assert from 'node:assert/strict';
import { test } from 'node:test';
import { writeAccessLine, type AccessLogLine } from './access-log.js';
import { createLogger } from './logger.js';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (text: string) => void lines.push(text) } };
}

const line = (overrides: Partial<AccessLogLine> = {}): AccessLogLine => ({
  requestId: '0f8fad5b-d9cb-469f-a165-70867728950e',
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  path: '/api/v1/query',
  status: 200,
  durationMs: 1.234,
  tenant: 'team-a',
  subject: 'grafana',
  authenticator: 'static',
  upstream: 'prom',
  endpoint: 'query',
  code: undefined,
  limit: undefined,
  ...overrides,
});

const withoutTime = (text: string) => text.replace(/"time":"[^"]*"/, '"time":"T"');

test('the access line is byte for byte what pino writes for the same fields, bindings and level', () => {
  const cases: [AccessLogLine, 'info' | 'warn'][] = [
    [line(), 'info'],
    [line({ status: 502, code: 'upstream_unreachable', tenant: undefined, subject: undefined }), 'warn'],
    [line({ path: '/a "quoted"\\path\n\u0001\u2028é\ud800', subject: 'x'.repeat(100), limit: 'per-tenant', websocket: true }), 'info'],
    [line({ path: undefined, upstream: undefined, endpoint: undefined, authenticator: undefined }), 'info'],
    [
      line({
        subject: 'grafana:user:7',
        authenticator: 'grafana',
        grafanaUser: 'user:7 (ana "a")',
        grafanaOrg: 1,
        grafanaTeams: ['alpha', 'b "\u2028'],
      }),
      'info',
    ],
    [line({ grafanaUser: 'user:8', grafanaOrg: 2, grafanaTeams: [] }), 'info'],
  ];
  for (const bindings of [undefined, { worker: 2 }]) {
    const ours = capture();
    const theirs = capture();
    const base = (destination: { write(text: string): void }) => createLogger({ level: 'info', destination });
    const oursLogger = bindings ? base(ours.destination).child(bindings) : base(ours.destination);
    const pinoLogger = bindings ? base(theirs.destination).child(bindings) : base(theirs.destination);
    for (const [fields, level] of cases) {
      writeAccessLine(oursLogger, level, fields);
      pinoLogger[level](fields, 'request');
    }
    assert.equal(ours.lines.length, cases.length);
    assert.deepEqual(ours.lines.map(withoutTime), theirs.lines.map(withoutTime));
    for (const text of ours.lines) assert.ok(JSON.parse(text));
  }
});
