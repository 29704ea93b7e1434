import type { LabelPolicy, LabelRule, LabelSelector } from '../../policy/label-policy.js';

/**
 * Deciding "this value is allowed by the policy" without an RE2 engine.
 *
 * The policy's regexes are RE2 (Go regexp), which JavaScript cannot run. We only ever need a one-sided answer:
 * "provably allowed" (keep a user's narrower matcher; keep a rule or alert in a response) or "don't know"
 * (enforce the policy matcher; drop the rule). So a regex is evaluated with JavaScript only when it lies in a
 * small subset where a JavaScript match implies an RE2 match: literal characters, escaped punctuation, `.`,
 * the quantifiers `* + ? {n,m}` (optionally lazy), alternation, (non-capturing) groups and simple character
 * classes. Outside it (`\w`, `\s`, `\d`, `\b`, `\p{…}`, flags like `(?i)`, anchors, POSIX classes …) the answer
 * is "don't know". Both sides anchor the whole value (Prometheus compiles `^(?s:re)$`); JavaScript's `.` without
 * the `s` flag excludes \n, \r, U+2028 and U+2029, a subset of what RE2's `.` matches in either mode.
 *
 * JavaScript backtracks where RE2 runs in linear time, and the values checked come from callers (a query's
 * `namespace="…"`) and from upstream data. So the subset also excludes what can make backtracking explode: a
 * repeated group that itself holds a quantifier or an alternation (`(a+)+`, `(a|a)*`: exponential), more than
 * MAX_QUANTIFIERS quantifiers (each multiplies the bound by the value's length), and values longer than
 * MAX_CHECKED_VALUE_LENGTH are not checked at all ("don't know").
 */

const META = '\\^$.|?*+()[]{}';
const MAX_QUANTIFIERS = 3;
const MAX_CHECKED_VALUE_LENGTH = 256;

/** Compiles `source` for a one-sided check, or returns undefined when it lies outside the safe subset. */
export function compileConservativeRegex(source: string): RegExp | undefined {
  if (!isInSafeSubset(source)) return undefined;
  try {
    return new RegExp(`^(?:${source})$`, 'u');
  } catch {
    return undefined;
  }
}

function isInSafeSubset(source: string): boolean {
  const chars = [...source];
  // Per open group: does it hold a quantifier or an alternation? (A repeated group that does can backtrack
  // exponentially.) `closed` is the group that ended just before the current character, if any.
  const groups: { hasQuantifier: boolean; hasAlternation: boolean }[] = [{ hasQuantifier: false, hasAlternation: false }];
  let closed: { hasQuantifier: boolean; hasAlternation: boolean } | undefined;
  let quantifiers = 0;
  let canRepeat = false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    const justClosed = closed;
    closed = undefined;
    if (ch === '\\') {
      if (!META.includes(chars[i + 1] ?? 'x')) return false;
      i++;
      canRepeat = true;
    } else if (ch === '(') {
      if (chars[i + 1] === '?') {
        if (chars[i + 2] !== ':') return false;
        i += 2;
      }
      groups.push({ hasQuantifier: false, hasAlternation: false });
      canRepeat = false;
    } else if (ch === ')') {
      if (groups.length < 2) return false;
      closed = groups.pop();
      const parent = groups[groups.length - 1];
      if (closed && parent) {
        parent.hasQuantifier ||= closed.hasQuantifier;
        parent.hasAlternation ||= closed.hasAlternation;
      }
      canRepeat = true;
    } else if (ch === '|') {
      (groups[groups.length - 1] as { hasAlternation: boolean }).hasAlternation = true;
      canRepeat = false;
    } else if (ch === '*' || ch === '+' || ch === '?' || ch === '{') {
      if (!canRepeat) return false;
      if (justClosed && (justClosed.hasQuantifier || justClosed.hasAlternation)) return false;
      if (++quantifiers > MAX_QUANTIFIERS) return false;
      (groups[groups.length - 1] as { hasQuantifier: boolean }).hasQuantifier = true;
      if (ch === '{') {
        const end = readRepeat(chars, i);
        if (end === undefined) return false;
        i = end;
      }
      if (chars[i + 1] === '?') i++;
      canRepeat = false;
    } else if (ch === '[') {
      const end = readClass(chars, i);
      if (end === undefined) return false;
      i = end;
      canRepeat = true;
    } else if (ch === '^' || ch === '$' || ch === ']' || ch === '}') {
      return false;
    } else {
      canRepeat = true;
    }
  }
  return groups.length === 1;
}

/** `{n}`, `{n,}` or `{n,m}` with RE2's limit of 1000; returns the index of `}`. */
function readRepeat(chars: string[], start: number): number | undefined {
  const close = chars.indexOf('}', start);
  if (close < 0) return undefined;
  const m = /^(\d{1,4})(,(\d{1,4})?)?$/.exec(chars.slice(start + 1, close).join(''));
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[3] === undefined ? min : Number(m[3]);
  if (min > 1000 || max > 1000 || max < min) return undefined;
  return close;
}

/** A class of literal characters and ranges, optionally negated; returns the index of `]`. */
function readClass(chars: string[], start: number): number | undefined {
  let i = start + 1;
  if (chars[i] === '^') i++;
  let members = 0;
  while (i < chars.length && chars[i] !== ']') {
    const from = readClassChar(chars, i);
    if (from === undefined) return undefined;
    i = from.next;
    if (chars[i] === '-' && chars[i + 1] !== ']') {
      const to = readClassChar(chars, i + 1);
      if (to === undefined || (to.char.codePointAt(0) as number) < (from.char.codePointAt(0) as number)) {
        return undefined;
      }
      i = to.next;
    }
    members++;
  }
  return i < chars.length && members > 0 ? i : undefined;
}

function readClassChar(chars: string[], at: number): { char: string; next: number } | undefined {
  const ch = chars[at];
  if (ch === undefined) return undefined;
  if (ch === '\\') {
    const escaped = chars[at + 1];
    if (escaped === undefined || !(META.includes(escaped) || escaped === '-')) return undefined;
    return { char: escaped, next: at + 2 };
  }
  if (ch === '[' || ch === ']' || ch === '-' || ch === '^') return undefined;
  return { char: ch, next: at + 1 };
}

/** A check that answers true only when `value` is provably allowed by the rule. */
export type ValueCheck = (value: string) => boolean;

/** Compiles a rule once: its literals exactly, its regexes through the conservative subset. */
export function compileRuleCheck(rule: LabelRule): ValueCheck {
  const literals = new Set(rule.literals);
  const regexes = rule.regexes.map(compileConservativeRegex).filter((re): re is RegExp => re !== undefined);
  return (value) => literals.has(value) || (value.length <= MAX_CHECKED_VALUE_LENGTH && regexes.some((re) => re.test(value)));
}

/**
 * A check over a whole label set: true only when, for every rule of at least one selector, the label is present
 * and provably allowed. A label set lacking an enforced label is not the tenant's. Full access allows everything.
 */
export function compileLabelSetCheck(policy: LabelPolicy): (labels: Readonly<Record<string, unknown>>) => boolean {
  if (policy.fullAccess) return () => true;
  const selectors = policy.selectors.map(compileSelectorCheck);
  return (labels) => selectors.some((matches) => matches(labels));
}

/** One selector's check over a label set: every rule's label present and provably allowed. */
export function compileSelectorCheck(selector: LabelSelector): (labels: Readonly<Record<string, unknown>>) => boolean {
  const checks = selector.map((rule) => ({ label: rule.label, check: compileRuleCheck(rule) }));
  return (labels) =>
    checks.every(({ label, check }) => {
      const value = Object.hasOwn(labels, label) ? labels[label] : undefined;
      return typeof value === 'string' && check(value);
    });
}
