/**
 * The policy check for one pushed stream's labels, shared by the JSON and protobuf push formats.
 */
import type { LabelPolicy, LabelRule, LabelSelector } from '../../policy/label-policy.js';
import { PolicyViolation } from '../errors.js';

export type PushLabelMode = 'reject' | 'inject';

/** Checks (and in `inject` mode completes) the labels of one stream; returns the labels to forward. The stream is described (for the refusal) only when refused. */
export type StreamLabelCheck = (labels: ReadonlyMap<string, string>, describeStream: () => string) => Map<string, string>;

/**
 * Compiles the policy into a per-stream check, once per push request.
 *
 * A stream violates the policy when a label the policy constrains is missing or holds a value outside the
 * rule (literal, or a policy regex fully anchored as Loki anchors matchers). An empty value counts as
 * missing: Loki drops empty-valued labels. In `inject` mode a missing label is added when its rule is a
 * single literal; a present but wrong value is always refused, never overwritten (the client's labels are
 * its data: silently moving a stream to another namespace would hide the mistake).
 * Under a policy of several selectors a stream is allowed when its labels satisfy one of them (exactly what
 * the union would read back); nothing is injected (which selector's labels would be a guess).
 * @throws PolicyViolation naming the stream; the whole push is refused, nothing is forwarded.
 */
export function compileStreamLabelCheck(policy: LabelPolicy, mode: PushLabelMode): StreamLabelCheck {
  if (policy.fullAccess) return (labels) => new Map(labels);
  if (policy.selectors.length > 1) return compileUnionCheck(policy.selectors);
  const rules = (policy.selectors[0] ?? []).map((rule) => ({ rule, isAllowed: compileRule(rule) }));
  return (labels, describeStream) => {
    const out = new Map(labels);
    for (const { rule, isAllowed } of rules) {
      const value = labels.get(rule.label);
      if (value === undefined || value === '') {
        const injectable = singleLiteral(rule);
        if (mode === 'inject' && injectable !== undefined) {
          out.set(rule.label, injectable);
          continue;
        }
        throw new PolicyViolation(`stream ${describeStream()} lacks label "${rule.label}" required by the label policy`);
      }
      if (!isAllowed(value)) {
        throw new PolicyViolation(`stream ${describeStream()}: label "${rule.label}" value is not allowed by the label policy`);
      }
    }
    return out;
  };
}

function compileUnionCheck(selectors: readonly LabelSelector[]): StreamLabelCheck {
  const compiled = selectors.map((selector) => selector.map((rule) => ({ label: rule.label, isAllowed: compileRule(rule) })));
  return (labels, describeStream) => {
    const satisfies = (rules: (typeof compiled)[number]) =>
      rules.every(({ label, isAllowed }) => {
        const value = labels.get(label);
        return value !== undefined && value !== '' && isAllowed(value);
      });
    if (!compiled.some(satisfies))
      throw new PolicyViolation(`stream ${describeStream()}: labels not allowed by any selector of the label policy`);
    return new Map(labels);
  };
}

function singleLiteral(rule: LabelRule): string | undefined {
  return rule.regexes.length === 0 && rule.literals.length === 1 ? rule.literals[0] : undefined;
}

/** A policy regex JavaScript cannot compile allows nothing here: we never guess about a regex. */
function compileRule(rule: LabelRule): (value: string) => boolean {
  const literals = new Set(rule.literals);
  const regexes: RegExp[] = [];
  for (const source of rule.regexes) {
    try {
      regexes.push(new RegExp(`^(?:${source})$`, 'u'));
    } catch {
      // Not compilable: contributes no allowed value.
    }
  }
  return (value) => literals.has(value) || regexes.some((re) => re.test(value));
}
