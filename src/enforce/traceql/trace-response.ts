import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { compileLabelSetCheck } from '../promql/policy-values.js';
import type { TraceQueryOptions } from './conditions.js';

/** Which trace-by-id API answered: v1 `/api/traces/<id>` or v2 `/api/v2/traces/<id>`. */
export type TraceResponseFormat = 'v1' | 'v2';

type JsonObject = Record<string, unknown>;

/**
 * Cuts a Tempo trace-by-id JSON response down to the resource spans the policy allows.
 *
 * Tempo answers (docs: tempo/api_docs, "Query"; tempopb `Trace` and `TraceByIDResponse` as OTLP JSON):
 * - v1: `{ "batches": [ResourceSpans…] }`
 * - v2: `{ "trace": { "resourceSpans": [ResourceSpans…] }, "status"?: …, "message"?: … }`
 * where each ResourceSpans is `{ "resource": { "attributes": [{ "key", "value": { "stringValue" } }] }, … }`
 * (`scopeSpans`, or `instrumentationLibrarySpans` in older versions: kept or dropped whole, never read).
 *
 * Contract:
 * - A ResourceSpans is kept only when, for every rule, the resource attribute that carries the rule's label
 *   (`options.attributes[label]`, default the label itself, as TraceQL enforcement maps it) is a string that
 *   is provably allowed (`compileLabelSetCheck`: exact literals; a policy regex only inside the subset where a
 *   JavaScript match implies an RE2 match). A resource without the attribute, with a non-string value, or
 *   with the key repeated with different values is not the tenant's. Filtering errs only by dropping.
 * - Returns `undefined` when no ResourceSpans remains (including an empty trace): the caller answers as
 *   Tempo does for an unknown trace, so a trace id reveals nothing about other namespaces.
 * - Full access returns the body unchanged (same Buffer).
 * - Fields beside the span list (v2 `status`, `message`, `metrics`) are kept; the ResourceSpans kept are
 *   passed through as received.
 * - Unparsable JSON, or JSON without the expected shape, throws UnsupportedInput: never passed unfiltered.
 */
export function filterTraceResponse(
  body: Buffer,
  policy: LabelPolicy,
  format: TraceResponseFormat,
  options: TraceQueryOptions = {},
): Buffer | undefined {
  if (policy.fullAccess) return body;
  const isAllowed = compileLabelSetCheck(policy);
  const attributeOf = policy.rules.map((rule) => ({ label: rule.label, attribute: options.attributes?.[rule.label] ?? rule.label }));
  const keep = (resourceSpans: unknown): boolean => {
    const attributes = readResourceAttributes(expectObject(resourceSpans, 'resource spans'));
    const labels: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const { label, attribute } of attributeOf) labels[label] = attributes.get(attribute);
    return isAllowed(labels);
  };

  const response = parseObject(body);
  if (format === 'v1') {
    const kept = listOf(response, 'batches').filter(keep);
    return kept.length === 0 ? undefined : toJson({ ...response, batches: kept });
  }
  if (response.trace === undefined || response.trace === null) return undefined;
  const trace = expectObject(response.trace, 'trace');
  const kept = listOf(trace, 'resourceSpans').filter(keep);
  return kept.length === 0 ? undefined : toJson({ ...response, trace: { ...trace, resourceSpans: kept } });
}

/**
 * Resource attributes with a string value, by key. A key seen twice with different values (or once with a
 * non-string value) maps to `undefined`: which one Tempo's TraceQL would read is not ours to guess.
 */
function readResourceAttributes(resourceSpans: JsonObject): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  if (resourceSpans.resource === undefined || resourceSpans.resource === null) return out;
  const resource = expectObject(resourceSpans.resource, 'resource');
  for (const entry of listOf(resource, 'attributes')) {
    const { key, value } = expectObject(entry, 'attribute');
    if (typeof key !== 'string') throw new UnsupportedInput('unexpected upstream response: attribute key is not a string');
    const text = stringValueOf(value);
    out.set(key, out.has(key) && out.get(key) !== text ? undefined : text);
  }
  return out;
}

function stringValueOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  const stringValue = (value as JsonObject).stringValue;
  return keys.length === 1 && typeof stringValue === 'string' ? stringValue : undefined;
}

/** An absent (or null) list is empty, as OTLP JSON omits empty repeated fields. */
function listOf(object: JsonObject, key: string): unknown[] {
  const value = object[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new UnsupportedInput(`unexpected upstream response: ${key} is not a list`);
  return value;
}

function parseObject(body: Buffer): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UnsupportedInput('upstream response is not valid JSON');
  }
  return expectObject(parsed, 'response');
}

function expectObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnsupportedInput(`unexpected upstream response: ${what} is not an object`);
  }
  return value as JsonObject;
}

function toJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
