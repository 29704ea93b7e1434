import { request as httpRequest } from 'node:http';
import type { DecisionRecord } from '../../observability/decision-log/record.js';
import type { CaptureUpstream, CapturedRequest } from './capture-upstream.js';
import type { CaseExpectation, PolicyTestCase } from './cases.js';
import type { MemorySink } from './memory-sink.js';
import type { OfflineHarness } from './offline-config.js';
import { UnknownIdentity } from './offline-config.js';

/** What happened to one case's request, in the terms of `expect`. */
export interface CaseOutcome {
  readonly allowed: boolean;
  readonly status: number;
  readonly code: string | undefined;
  /** The body the client got. */
  readonly response: string;
  readonly tenant: string | undefined;
  readonly endpoint: string | undefined;
  readonly query: string | undefined;
  readonly params: ReadonlyMap<string, readonly string[]>;
  readonly upstream_path: string | undefined;
  readonly upstream_headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly limits: readonly string[];
  readonly limit: string | undefined;
  readonly policy_source: string | undefined;
}

export interface CaseResult {
  readonly name: string;
  readonly failures: readonly string[];
  readonly outcome: CaseOutcome | undefined;
  readonly durationMs: number;
}

export interface CaseRunner {
  readonly harness: OfflineHarness;
  readonly upstream: CaptureUpstream;
  readonly decisions: MemorySink;
  /** The gateway's proxy listener on 127.0.0.1. */
  readonly gatewayPort: number;
  /** Tenant header names of the configured upstreams, lower case. */
  readonly tenantHeaders: readonly string[];
}

const RECORD_TIMEOUT_MS = 10_000;

/** Sends one case through the gateway (a real socket) and compares what happened with its `expect`. */
export async function runCase(runner: CaseRunner, testCase: PolicyTestCase, requestId: string): Promise<CaseResult> {
  const started = performance.now();
  const result = (failures: string[], outcome?: CaseOutcome): CaseResult => ({
    name: testCase.name,
    failures,
    outcome,
    durationMs: Math.round(performance.now() - started),
  });
  let credentials: Record<string, string>;
  try {
    credentials = await runner.harness.credentialsFor(testCase.identity);
  } catch (error) {
    if (error instanceof UnknownIdentity) return result([`identity: ${error.message}`]);
    throw error;
  }
  runner.upstream.answerWith(testCase.upstream);
  const response = await send(runner.gatewayPort, testCase, credentials, requestId);
  const record = await runner.decisions.take(requestId, RECORD_TIMEOUT_MS);
  const outcome = describeOutcome(record, response, runner.upstream.received(requestId), runner.tenantHeaders);
  return result(compare(testCase.expect, outcome), outcome);
}

function send(
  port: number,
  testCase: PolicyTestCase,
  credentials: Record<string, string>,
  requestId: string,
): Promise<{ status: number; body: string }> {
  const { request } = testCase;
  const search = encodeParams(request.params);
  const form = request.form === undefined ? undefined : encodeParams(request.form);
  const body = form ?? request.body;
  const headers: Record<string, string> = { ...request.headers, ...credentials, host: request.host, 'x-request-id': requestId };
  if (form !== undefined) headers['content-type'] ??= 'application/x-www-form-urlencoded';
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const method = request.method ?? (form !== undefined ? 'POST' : 'GET');
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path: `${request.path}${search === '' ? '' : `?${search}`}`, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function encodeParams(params: Readonly<Record<string, string | readonly string[]>> | undefined): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params ?? {})) {
    for (const v of typeof value === 'string' ? [value] : value) search.append(name, v);
  }
  return search.toString();
}

function describeOutcome(
  record: DecisionRecord,
  response: { status: number; body: string },
  received: readonly CapturedRequest[],
  tenantHeaders: readonly string[],
): CaseOutcome {
  const allowed = record.decision === 'allow';
  // Look-ups (series, silences) come first; the forwarded request is the last one the upstream received.
  const sent = allowed ? received.at(-1) : undefined;
  const params = sent === undefined ? new Map<string, string[]>() : readParams(sent);
  const tenantHeader = sent === undefined ? undefined : tenantHeaders.find((name) => sent.headers[name] !== undefined);
  const tenant = sent !== undefined && tenantHeader !== undefined ? String(sent.headers[tenantHeader]) : undefined;
  return {
    allowed,
    status: response.status,
    code: record.code,
    response: response.body,
    tenant,
    endpoint: record.endpoint,
    query: (params.get('query') ?? params.get('q'))?.[0],
    params,
    upstream_path: sent?.url.split('?')[0],
    upstream_headers: sent?.headers ?? {},
    limits: record.limits?.rules ?? [],
    limit: record.limits?.refusedBy,
    policy_source: record.policy?.source,
  };
}

/** Every parameter the upstream received: form body first, then URL (as Go's ParseForm reads them). */
function readParams(sent: CapturedRequest): Map<string, string[]> {
  const params = new Map<string, string[]>();
  const add = (search: URLSearchParams) => {
    for (const [name, value] of search) params.set(name, [...(params.get(name) ?? []), value]);
  };
  if (String(sent.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded'))
    add(new URLSearchParams(sent.body.toString('utf8')));
  add(new URLSearchParams(sent.url.split('?')[1] ?? ''));
  return params;
}

/** One line per expectation that does not hold: `field: expected X, got Y`. */
export function compare(expect: CaseExpectation, actual: CaseOutcome): string[] {
  const failures: string[] = [];
  const check = (field: string, want: unknown, got: unknown) => {
    if (want !== undefined && JSON.stringify(want) !== JSON.stringify(got)) {
      failures.push(`${field}: expected ${JSON.stringify(want)}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`);
    }
  };
  check('allowed', expect.allowed, actual.allowed);
  // A refusal nobody expected: say what it was.
  if (expect.allowed === true && !actual.allowed)
    failures[failures.length - 1] += ` (status ${actual.status}${actual.code !== undefined ? `, code ${actual.code}` : ''})`;
  check('status', expect.status, actual.status);
  check('code', expect.code, actual.code);
  check('tenant', expect.tenant, actual.tenant);
  check('endpoint', expect.endpoint, actual.endpoint);
  check('query', expect.query, actual.query);
  check('upstream_path', expect.upstream_path, actual.upstream_path);
  check('limits', expect.limits, actual.limits);
  check('limit', expect.limit, actual.limit);
  check('policy_source', expect.policy_source, actual.policy_source);
  for (const text of expect.query_contains ?? []) {
    if (!(actual.query ?? '').includes(text))
      failures.push(`query: expected to contain ${JSON.stringify(text)}, got ${JSON.stringify(actual.query ?? null)}`);
  }
  for (const text of expect.query_not_contains ?? []) {
    if ((actual.query ?? '').includes(text))
      failures.push(`query: expected not to contain ${JSON.stringify(text)}, got ${JSON.stringify(actual.query)}`);
  }
  for (const text of expect.response_contains ?? []) {
    if (!actual.response.includes(text))
      failures.push(`response: expected to contain ${JSON.stringify(text)}, got ${JSON.stringify(actual.response.slice(0, 200))}`);
  }
  for (const text of expect.response_not_contains ?? []) {
    if (actual.response.includes(text)) failures.push(`response: expected not to contain ${JSON.stringify(text)}`);
  }
  for (const [name, values] of Object.entries(expect.params ?? {})) check(`params.${name}`, values, actual.params.get(name));
  for (const [name, text] of Object.entries(expect.upstream_headers ?? {})) {
    const got = actual.upstream_headers[name.toLowerCase()];
    const value = Array.isArray(got) ? got.join(', ') : got;
    if (value === undefined || !value.includes(text)) {
      failures.push(
        `upstream_headers.${name}: expected to contain ${JSON.stringify(text)}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`,
      );
    }
  }
  return failures;
}
