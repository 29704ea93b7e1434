import type { LabelPolicy } from '../../policy/label-policy.js';
import { UnsupportedInput } from '../errors.js';
import { compileLabelSetCheck } from '../promql/policy-values.js';
import { compileRuleVisibility, type RuleLanguage, type RuleParts } from './rule-visibility.js';

/**
 * Filters Prometheus `/api/v1/rules` and `/api/v1/alerts` responses to the policy. Prometheus (2.42 and many
 * Mimir/Thanos versions) ignores `match[]` on these endpoints, so the response itself must be cut down, as
 * prom-label-proxy's `rules.go` does.
 *
 * - A rule is kept only when it is inside the policy as rule-visibility.ts decides for the rule configuration
 *   too: its `query` parses (`language`: PromQL, or LogQL for Loki's ruler) and every selector of it carries
 *   the policy, and its `labels` claim no value outside it. So a rule labelled `namespace: team-a` whose query
 *   reads `team-b` is not shown (its query is team-b's, and so are the series behind its alerts). An alerting
 *   rule's `alerts` are filtered by their own labels too (a missing policy label drops the alert). Groups left
 *   empty are dropped.
 * - An alert (in `/api/v1/alerts`) is kept only when its labels satisfy the policy.
 * - RE2 policy regexes are checked with `compileLabelSetCheck`: exact literals, and JavaScript only for regexes
 *   in a subset where a JavaScript match implies an RE2 match. Outside it the answer is "no", so filtering can
 *   only err by dropping something the tenant could see, never by showing something it cannot.
 * - Full access returns the body unchanged. Unparsable JSON, or JSON without the expected shape, throws
 *   UnsupportedInput (never passed through unfiltered). A non-success envelope is returned without its `data`.
 */
export function filterRulesResponse(body: Buffer, policy: LabelPolicy, language: RuleLanguage): Buffer {
  if (policy.fullAccess) return body;
  const isAllowed = compileLabelSetCheck(policy);
  const isVisible = compileRuleVisibility(policy, language);
  return rewriteData(body, (data) => {
    const groups = expectArray(data.groups, 'data.groups');
    const kept = groups.flatMap((group) => {
      const g = expectObject(group, 'rule group');
      const rules = expectArray(g.rules, 'group.rules').flatMap((rule) => filterRule(rule, isVisible, isAllowed));
      return rules.length === 0 ? [] : [{ ...g, rules }];
    });
    return { ...data, groups: kept };
  });
}

/** Filters an `/api/v1/alerts` response (see `filterRulesResponse`). */
export function filterAlertsResponse(body: Buffer, policy: LabelPolicy): Buffer {
  if (policy.fullAccess) return body;
  const isAllowed = compileLabelSetCheck(policy);
  return rewriteData(body, (data) => ({
    ...data,
    alerts: expectArray(data.alerts, 'data.alerts').filter((alert) => hasAllowedLabels(alert, isAllowed)),
  }));
}

type JsonObject = Record<string, unknown>;
type LabelSetCheck = (labels: Readonly<Record<string, unknown>>) => boolean;

function filterRule(rule: unknown, isVisible: (rule: RuleParts) => boolean, isAllowed: LabelSetCheck): JsonObject[] {
  const r = expectObject(rule, 'rule');
  if (!isVisible({ expr: r.query, labels: r.labels, annotations: r.annotations })) return [];
  if (r.alerts === undefined) return [r];
  return [{ ...r, alerts: expectArray(r.alerts, 'rule.alerts').filter((a) => hasAllowedLabels(a, isAllowed)) }];
}

function hasAllowedLabels(item: unknown, isAllowed: LabelSetCheck): boolean {
  const labels = expectObject(item, 'rule or alert').labels;
  return typeof labels === 'object' && labels !== null && !Array.isArray(labels) && isAllowed(labels as JsonObject);
}

function rewriteData(body: Buffer, rewrite: (data: JsonObject) => JsonObject): Buffer {
  let envelope: JsonObject;
  try {
    envelope = expectObject(JSON.parse(body.toString('utf8')) as unknown, 'response');
  } catch (err) {
    if (err instanceof UnsupportedInput) throw err;
    throw new UnsupportedInput('upstream response is not valid JSON');
  }
  if (envelope.status !== 'success') {
    const { data: _ignored, ...rest } = envelope;
    return Buffer.from(JSON.stringify(rest), 'utf8');
  }
  const data = rewrite(expectObject(envelope.data, 'data'));
  return Buffer.from(JSON.stringify({ ...envelope, data }), 'utf8');
}

function expectObject(value: unknown, what: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UnsupportedInput(`unexpected upstream response: ${what} is not an object`);
  }
  return value as JsonObject;
}

function expectArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new UnsupportedInput(`unexpected upstream response: ${what} is not an array`);
  return value;
}
