/**
 * Rule configuration (the ruler's YAML: Loki `/loki/api/v1/rules…`, Mimir `/prometheus/config/v1/rules…`) cut
 * down to what an identity limited by a label policy may see. The ruler stores rule groups per tenant, by
 * namespace (a rule file); nothing in a group says which label values it reads except its expressions, so a
 * group is shown only when every one of its rules provably reads and claims inside the policy.
 *
 * Which rules are inside the policy is rule-visibility.ts' decision (expression, labels, templates).
 * A group is shown only when every rule is inside and it names no `source_tenants` (federated rule groups read
 * other tenants). Groups are shown whole or not at all, so a visible group is exactly what the ruler runs.
 *
 * Shapes: a listing (`/rules`, `/rules/{namespace}`) is a mapping namespace → list of groups; namespaces left
 * without groups are dropped. A single group (`/rules/{namespace}/{group}`) is one group mapping. Returns
 * `undefined` when nothing is left, so the caller answers as the ruler does for no rule groups (404).
 *
 * Full access returns the body unchanged. A body that is not one YAML document of the expected shape (binary,
 * compressed, JSON error, HTML) throws UnsupportedInput: it is never relayed unfiltered.
 */
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { compileRuleVisibility, type RuleLanguage } from './rule-visibility.js';

export type { RuleLanguage } from './rule-visibility.js';

/** A listing (namespace → groups) or one group. */
export type RuleConfigShape = 'namespaces' | 'group';

type YamlMap = Record<string, unknown>;
type RuleCheck = (rule: unknown) => boolean;

/**
 * Filters a ruler's YAML answer to the policy (module contract above).
 * @returns the YAML to send, or `undefined` when no group is visible.
 * @throws UnsupportedInput when the body is not one YAML document of the expected shape.
 */
export function filterRuleConfig(body: Buffer, policy: LabelPolicy, language: RuleLanguage, shape: RuleConfigShape): Buffer | undefined {
  if (policy.fullAccess) return body;
  const document = parseDocument(body);
  const isVisible = compileRuleVisibility(policy, language);
  const isRuleVisible: RuleCheck = (rule) =>
    isMap(rule) && isVisible({ expr: rule['expr'], labels: rule['labels'], annotations: rule['annotations'] });
  if (shape === 'group') return isGroupVisible(expectMap(document, 'rule group'), isRuleVisible) ? toYaml(document) : undefined;
  const out: YamlMap = {};
  for (const [namespace, groups] of Object.entries(expectMap(document, 'rule namespaces'))) {
    const visible = expectList(groups, `namespace ${namespace}`).filter((group) =>
      isGroupVisible(expectMap(group, 'rule group'), isRuleVisible),
    );
    if (visible.length > 0) out[namespace] = visible;
  }
  return Object.keys(out).length === 0 ? undefined : toYaml(out);
}

function isGroupVisible(group: YamlMap, isRuleVisible: RuleCheck): boolean {
  if (typeof group['name'] !== 'string') throw new UnsupportedInput('unexpected upstream response: rule group without a name');
  const rules = expectList(group['rules'] ?? [], 'group rules');
  const sourceTenants = group['source_tenants'];
  if (sourceTenants !== undefined && sourceTenants !== null && !(Array.isArray(sourceTenants) && sourceTenants.length === 0)) return false;
  return rules.length > 0 && rules.every(isRuleVisible);
}

function parseDocument(body: Buffer): unknown {
  try {
    return parseYaml(new TextDecoder('utf-8', { fatal: true }).decode(body), { uniqueKeys: true, maxAliasCount: 0 });
  } catch {
    throw new UnsupportedInput('unexpected upstream response: rule configuration is not one YAML document');
  }
}

/**
 * Written back without line folding, and with every string YAML 1.1 would read as something else quoted
 * (`"on"`, `"yes"`, `"2001-01-01"`), as Go's yaml.v3 writes them: clients of either YAML version read the
 * values the ruler sent.
 */
function toYaml(value: unknown): Buffer {
  return Buffer.from(stringifyYaml(value, { lineWidth: 0, version: '1.1' }), 'utf8');
}

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectMap(value: unknown, what: string): YamlMap {
  if (!isMap(value)) throw new UnsupportedInput(`unexpected upstream response: ${what} is not a mapping`);
  return value;
}

function expectList(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new UnsupportedInput(`unexpected upstream response: ${what} is not a list`);
  return value;
}
