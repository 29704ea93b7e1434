export { enforceTraceQuery, assertQueryEnforced } from './enforce.js';
export { buildPolicyConditions, quoteTraceString, type TraceQueryOptions } from './conditions.js';
export { parseTraceQuery } from './syntax.js';
