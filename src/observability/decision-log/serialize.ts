import type { DecisionIdentity, DecisionPolicy, DecisionQuery, DecisionRecord } from './record.js';

/**
 * A decision record's JSON, written by hand for its fixed shape: the same text `JSON.stringify` gives for a record
 * built field by field in the order of `buildDecisionRecord` (server/record-decision.ts), which
 * serialize.test.ts checks over hostile strings. It exists for the hot path (issue #21): `JSON.stringify` walks
 * every nested object of every record, while the parts that repeat per caller (the identity, its policy) are
 * frozen objects shared between requests, whose text is written once and kept here (by object, in a WeakMap: no
 * copy of a caller outlives it).
 */
export type RecordSerializer = (record: DecisionRecord) => string;

export function createRecordSerializer(): RecordSerializer {
  // Only frozen objects are kept: one the caller could still change would keep a stale text.
  const fragments = new WeakMap<object, string>();
  const cached = <T extends object>(value: T, write: (value: T) => string): string => {
    let text = fragments.get(value);
    if (text === undefined) {
      text = write(value);
      if (Object.isFrozen(value)) fragments.set(value, text);
    }
    return text;
  };
  return (record) => {
    let out = `{"time":${str(record.time)}${field(',"requestId":"', record.requestId)}${field(',"traceId":"', record.traceId)}${field(',"decision":"', record.decision)},"status":${num(record.status)}${field(',"method":"', record.method)},"durationMs":${num(record.durationMs)}`;
    if (record.code !== undefined) out += field(',"code":"', record.code);
    if (record.path !== undefined) out += field(',"path":"', record.path);
    if (record.identity !== undefined) out += `,"identity":${cached(record.identity, identityJson)}`;
    if (record.decidedBy !== undefined) out += field(',"decidedBy":"', record.decidedBy);
    if (record.tenants !== undefined) out += `,"tenants":${strings(record.tenants)}`;
    if (record.upstream !== undefined) out += field(',"upstream":"', record.upstream);
    if (record.endpoint !== undefined) out += field(',"endpoint":"', record.endpoint);
    if (record.policy !== undefined) out += `,"policy":${cached(record.policy, policyJson)}`;
    const limits = record.limits;
    if (limits !== undefined) {
      out += `,"limits":{"rules":${strings(limits.rules)}${limits.refusedBy !== undefined ? field(',"refusedBy":"', limits.refusedBy) : ''}}`;
    }
    if (record.query !== undefined) out += `,"query":${queryJson(record.query)}`;
    if (record.upstreamStatus !== undefined) out += `,"upstreamStatus":${num(record.upstreamStatus)}`;
    if (record.responseBytes !== undefined) out += `,"responseBytes":${num(record.responseBytes)}`;
    return `${out}}`;
  };
}

function identityJson(identity: DecisionIdentity): string {
  const roles = identity.roles !== undefined ? `,"roles":${strings(identity.roles)}` : '';
  return `{"authenticator":${str(identity.authenticator)},"subject":${str(identity.subject)},"tenants":${strings(identity.tenants)},"scopes":${strings(identity.scopes)}${roles}}`;
}

function policyJson(policy: DecisionPolicy): string {
  return `{"text":${str(policy.text)},"source":${str(policy.source)}}`;
}

function queryJson(query: DecisionQuery): string {
  if ('before' in query) return `{"before":${str(query.before)}${query.after !== undefined ? `,"after":${str(query.after)}` : ''}}`;
  const after = query.afterSha256 !== undefined ? `,"afterSha256":${str(query.afterSha256)}` : '';
  return `{"beforeSha256":${str(query.beforeSha256)}${after}}`;
}

// What JSON.stringify escapes: `"`, `\`, control characters, and lone surrogates (as \udXXX; a pair is kept, but
// it is rare enough to hand to JSON.stringify too). U+2028 and U+2029 are written as they are, as it does.
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function str(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

/** `prefix` (`,"name":"`, its opening quote included) and the value as a JSON string: one string fewer than `str`. */
function field(prefix: string, value: string): string {
  return NEEDS_ESCAPE.test(value) ? `${prefix.slice(0, -1)}${JSON.stringify(value)}` : `${prefix}${value}"`;
}

function num(value: number): string {
  return Number.isFinite(value) ? `${value}` : 'null';
}

function strings(values: readonly string[]): string {
  if (values.length === 0) return '[]';
  let out = `[${str(values[0] as string)}`;
  for (let i = 1; i < values.length; i++) out += `,${str(values[i] as string)}`;
  return `${out}]`;
}
