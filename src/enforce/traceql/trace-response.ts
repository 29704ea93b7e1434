import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import type { TraceQueryOptions } from './conditions.js';
import {
  compileResourceCheck,
  expectJsonObject,
  jsonListOf,
  readJsonResourceAttributes,
  refuseAliases,
  type JsonObject,
} from './resource-attributes.js';

/** Which trace-by-id API answered: v1 `/api/traces/<id>` or v2 `/api/v2/traces/<id>`. */
export type TraceResponseFormat = 'v1' | 'v2';

const CONTEXT = 'unexpected upstream response';

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
  const check = compileResourceCheck(policy, options);
  const keep = (resourceSpans: unknown): boolean =>
    check.isAllowed(readJsonResourceAttributes(expectJsonObject(resourceSpans, 'resource spans', CONTEXT), CONTEXT));

  const response = parseObject(body);
  if (format === 'v1') {
    refuseAliases(response, ['batches'], CONTEXT);
    const kept = jsonListOf(response, 'batches', CONTEXT).filter(keep);
    return kept.length === 0 ? undefined : toJson({ ...response, batches: kept });
  }
  if (response.trace === undefined || response.trace === null) return undefined;
  const trace = expectJsonObject(response.trace, 'trace', CONTEXT);
  refuseAliases(trace, ['resourceSpans'], CONTEXT);
  const kept = jsonListOf(trace, 'resourceSpans', CONTEXT).filter(keep);
  return kept.length === 0 ? undefined : toJson({ ...response, trace: { ...trace, resourceSpans: kept } });
}

function parseObject(body: Buffer): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new UnsupportedInput('upstream response is not valid JSON');
  }
  return expectJsonObject(parsed, 'response', CONTEXT);
}

function toJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}
