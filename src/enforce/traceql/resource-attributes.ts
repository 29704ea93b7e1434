/**
 * Which OTLP resources a label policy allows: one decision shared by the trace-by-id response filter
 * (trace-response.ts) and trace ingest (write/otlp-traces.ts), so what a limited identity may write is
 * exactly what it may read back.
 *
 * A resource is reduced to its attributes with a string value, by key (`ResourceAttributes`); each policy
 * rule's label is carried by the resource attribute `options.attributes[label]` (default: the label itself),
 * the mapping TraceQL enforcement uses.
 */
import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { compileLabelSetCheck } from '../promql/policy-values.js';
import type { TraceQueryOptions } from './conditions.js';

/**
 * Resource attributes by key: the string value, or `undefined` when the key has a non-string value or is
 * repeated with different values (which one Tempo's TraceQL would read is not ours to guess).
 */
export type ResourceAttributes = Map<string, string | undefined>;

export type JsonObject = Record<string, unknown>;

/** Records one attribute; `value` is undefined for a value that is not a string. */
export function addResourceAttribute(attributes: ResourceAttributes, key: string, value: string | undefined): void {
  attributes.set(key, attributes.has(key) && attributes.get(key) !== value ? undefined : value);
}

/** The decision for a limited policy, compiled once; `attributes` names the resource attributes it reads. */
export interface ResourceCheck {
  readonly attributes: readonly string[];
  isAllowed(resource: ReadonlyMap<string, string | undefined>): boolean;
}

/**
 * Compiles the policy into a resource check: a resource is allowed only when, for every rule of one selector, the attribute
 * carrying the rule's label is a string provably allowed (`compileLabelSetCheck`: exact literals; a policy
 * regex only inside the subset where a JavaScript match implies an RE2 match). A missing attribute, a
 * non-string value, or a key repeated with different values is not allowed. Full access allows everything.
 */
export function compileResourceCheck(policy: LabelPolicy, options: TraceQueryOptions = {}): ResourceCheck {
  const isAllowedLabelSet = compileLabelSetCheck(policy);
  const labels = policy.fullAccess ? [] : [...new Set(policy.selectors.flat().map((rule) => rule.label))];
  const mapping = labels.map((label) => ({ label, attribute: options.attributes?.[label] ?? label }));
  return {
    attributes: mapping.map(({ attribute }) => attribute),
    isAllowed: (resource) => {
      const labels: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      for (const { label, attribute } of mapping) labels[label] = resource.get(attribute);
      return isAllowedLabelSet(labels);
    },
  };
}

/**
 * The resource attributes of one OTLP JSON ResourceSpans (`{ "resource": { "attributes": [{ "key", "value":
 * { "stringValue" } }] }, … }`). A value is a string only when it is an object with the single member
 * `stringValue` holding a string (anything else, `string_value` included, is not a string). An absent or
 * null resource has no attributes.
 *
 * Members that differ from a member read here only in case or underscores (`Resource`, `resource_spans`)
 * are refused: OTLP/JSON decoders accept the proto field name beside the JSON name, and a member this
 * reader ignored must not be one a decoder reads.
 * @param context prefixes error messages (e.g. "unexpected upstream response", "malformed OTLP JSON").
 * @throws UnsupportedInput for a shape that is not OTLP JSON.
 */
export function readJsonResourceAttributes(resourceSpans: JsonObject, context: string): ResourceAttributes {
  const out: ResourceAttributes = new Map();
  refuseAliases(resourceSpans, ['resource'], context);
  if (resourceSpans.resource === undefined || resourceSpans.resource === null) return out;
  const resource = expectJsonObject(resourceSpans.resource, 'resource', context);
  refuseAliases(resource, ['attributes'], context);
  for (const entry of jsonListOf(resource, 'attributes', context)) {
    const attribute = expectJsonObject(entry, 'attribute', context);
    refuseAliases(attribute, ['key', 'value'], context);
    if (typeof attribute.key !== 'string') throw new UnsupportedInput(`${context}: attribute key is not a string`);
    addResourceAttribute(out, attribute.key, stringValueOf(attribute.value));
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
export function jsonListOf(object: JsonObject, key: string, context: string): unknown[] {
  const value = object[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new UnsupportedInput(`${context}: ${key} is not a list`);
  return value;
}

export function expectJsonObject(value: unknown, what: string, context: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnsupportedInput(`${context}: ${what} is not an object`);
  }
  return value as JsonObject;
}

/** Refuses members that a protojson-style decoder could read as one of `names` (other case, snake_case). */
export function refuseAliases(object: JsonObject, names: readonly string[], context: string): void {
  for (const key of Object.keys(object)) {
    const folded = foldName(key);
    const name = names.find((candidate) => foldName(candidate) === folded);
    if (name !== undefined && name !== key) {
      throw new UnsupportedInput(`${context}: member "${key}" is not accepted; use "${name}" (OTLP/JSON lowerCamelCase)`);
    }
  }
}

function foldName(name: string): string {
  return name.replaceAll('_', '').toLowerCase();
}
