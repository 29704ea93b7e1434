import type { LabelSelector } from '../../policy/label-policy.js';

/**
 * A policy compiled for the write enforcers, which compare labels as bytes where they lie in the decoded body: the
 * UTF-8 of every label name and literal is encoded once, when the policy is compiled (once per request, a few dozen
 * bytes), never once per series. A value is decoded to a string only for a regex rule.
 *
 * A series' labels are matched once against the policy's distinct label names (`names`); what the series holds of
 * each name (how often, and its value's bytes) is then judged by every selector over the same offsets, so a label
 * named by several selectors (or by two rules of one selector) is read once.
 */
export interface WritePolicy {
  /** UTF-8 of each distinct label name the policy constrains; a rule's `slot` indexes it. */
  readonly names: readonly Buffer[];
  /** The same names as strings (for refusals). */
  readonly labels: readonly string[];
  /** The selectors, ORed: a series is allowed when it satisfies one. Its rules AND. */
  readonly selectors: readonly (readonly WriteRule[])[];
  /** Per slot, the UTF-8 of the value to inject when the label is missing: under a one-selector policy only, when every rule on that label is the same single literal. */
  readonly injectables: readonly (Buffer | undefined)[];
  /** How many rules the selectors hold in all (a rule's `index` is below it). */
  readonly ruleCount: number;
}

export interface WriteRule {
  readonly label: string;
  /** The index of `label` in `WritePolicy.names`. */
  readonly slot: number;
  /** The rule's index over all selectors (for per-rule caches). */
  readonly index: number;
  /** UTF-8 of each literal. */
  readonly literals: readonly Buffer[];
  /** Anchored, as Prometheus anchors matchers. */
  readonly regexes: readonly RegExp[];
}

export function compileWritePolicy(selectors: readonly LabelSelector[]): WritePolicy {
  const labels: string[] = [];
  let ruleCount = 0;
  const compiled = selectors.map((selector) =>
    selector.map((rule): WriteRule => {
      let slot = labels.indexOf(rule.label);
      if (slot < 0) slot = labels.push(rule.label) - 1;
      return {
        label: rule.label,
        slot,
        index: ruleCount++,
        literals: rule.literals.map((literal) => Buffer.from(literal, 'utf8')),
        regexes: rule.regexes.map((re) => new RegExp(`^(?:${re})$`, 'u')),
      };
    }),
  );
  const injectables = labels.map((_, slot) =>
    compiled.length === 1 ? injectableOf((compiled[0] as WriteRule[]).filter((rule) => rule.slot === slot)) : undefined,
  );
  return { names: labels.map((label) => Buffer.from(label, 'utf8')), labels, selectors: compiled, injectables, ruleCount };
}

/** The one literal every rule on a label allows alone, or undefined (nothing to inject, the series is refused). */
function injectableOf(rules: readonly WriteRule[]): Buffer | undefined {
  const first = rules[0];
  if (first === undefined || first.regexes.length > 0 || first.literals.length !== 1) return undefined;
  const literal = first.literals[0] as Buffer;
  const isSame = rules.every(
    (rule) => rule.regexes.length === 0 && rule.literals.length === 1 && literal.equals(rule.literals[0] as Buffer),
  );
  return isSame ? literal : undefined;
}

/** Whether `bytes[start, end)` equals `expected`. */
export function bytesEqual(expected: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  const length = expected.length;
  if (end - start !== length) return false;
  for (let i = 0; i < length; i++) if (expected[i] !== bytes[start + i]) return false;
  return true;
}

/** The slot of the policy label named `bytes[start, end)`, or -1. */
export function findSlot(policy: WritePolicy, bytes: Uint8Array, start: number, end: number): number {
  const names = policy.names;
  for (let slot = 0; slot < names.length; slot++) if (bytesEqual(names[slot] as Buffer, bytes, start, end)) return slot;
  return -1;
}

/** Whether the value `bytes[start, end)` (well-formed UTF-8, checked before) is allowed by `rule`. */
export function isValueAllowed(rule: WriteRule, bytes: Buffer, start: number, end: number): boolean {
  for (const literal of rule.literals) if (bytesEqual(literal, bytes, start, end)) return true;
  if (rule.regexes.length === 0) return false;
  const value = bytes.toString('utf8', start, end);
  return rule.regexes.some((re) => re.test(value));
}

/** Byte order of `a[aStart, aEnd)` and `b[bStart, bEnd)`, as Go compares strings (and Buffer.compare). */
export function compareBytes(a: Uint8Array, aStart: number, aEnd: number, b: Uint8Array, bStart: number, bEnd: number): number {
  const length = Math.min(aEnd - aStart, bEnd - bStart);
  for (let i = 0; i < length; i++) {
    const d = (a[aStart + i] as number) - (b[bStart + i] as number);
    if (d !== 0) return d;
  }
  return aEnd - aStart - (bEnd - bStart);
}
