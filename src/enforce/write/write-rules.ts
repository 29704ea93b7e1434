import type { LabelRule } from '../../policy/label-policy.js';

/**
 * A policy's rules compiled for the write enforcers, which compare labels as bytes where they lie in the decoded
 * body: the UTF-8 of every label name and literal is encoded once, when the rules are compiled (once per request,
 * a few dozen bytes), never once per series. A value is decoded to a string only for a regex rule.
 */
export interface WriteRule {
  readonly label: string;
  /** UTF-8 of `label`. */
  readonly name: Buffer;
  /** UTF-8 of each literal. */
  readonly literals: readonly Buffer[];
  /** Anchored, as Prometheus anchors matchers. */
  readonly regexes: readonly RegExp[];
  /** UTF-8 of the value to inject when the label is missing: only for a rule of exactly one literal. */
  readonly injectable: Buffer | undefined;
}

export function compileWriteRules(rules: readonly LabelRule[]): WriteRule[] {
  return rules.map((rule) => {
    const literals = rule.literals.map((literal) => Buffer.from(literal, 'utf8'));
    return {
      label: rule.label,
      name: Buffer.from(rule.label, 'utf8'),
      literals,
      regexes: rule.regexes.map((re) => new RegExp(`^(?:${re})$`, 'u')),
      injectable: rule.regexes.length === 0 && literals.length === 1 ? literals[0] : undefined,
    };
  });
}

/** Whether `bytes[start, end)` equals `expected`. */
export function bytesEqual(expected: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  const length = expected.length;
  if (end - start !== length) return false;
  for (let i = 0; i < length; i++) if (expected[i] !== bytes[start + i]) return false;
  return true;
}

/** The index of the rule whose label is `bytes[start, end)`, or -1. */
export function findRule(rules: readonly WriteRule[], bytes: Uint8Array, start: number, end: number): number {
  for (let r = 0; r < rules.length; r++) if (bytesEqual((rules[r] as WriteRule).name, bytes, start, end)) return r;
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
