export { enforceLogQuery, enforceLogSelector } from './enforce.js';
export { decodeGoString, quoteGoString } from '../go-string.js';
export { parseLogQuery, findSelectors } from './parse.js';
export { enforceStreamMatchers, formatSelector, readSelectorMatchers, type StreamMatcher } from './selector.js';
