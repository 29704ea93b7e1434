export { enforceQuery, enforceSelector, enforceSelectors } from './enforce.js';
export { explainQuery, describeQueryEnforcement } from './explain.js';
export { findUnenforcedSelectors } from './verify.js';
export { compileConservativeRegex, compileLabelSetCheck, compileRuleCheck } from './policy-values.js';
export { decodePromString, quotePromString } from './string-literal.js';
