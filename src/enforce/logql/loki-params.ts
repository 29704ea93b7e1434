/**
 * Rewrites every occurrence of some parameters in a Loki request, on top of the shared parameter reader
 * (src/enforce/params.ts): Loki reads parameters with Go's `r.ParseForm()` like Prometheus, form body first,
 * then the URL. Every occurrence is rewritten and the outgoing request is rebuilt from the rewritten pairs.
 */
import { readRequestParams, writeRequestParams, type Param, type ParamsRequest } from '../params.js';

export interface ParamRewrite {
  /** Parameter names to rewrite (exact, case-sensitive as in Go). */
  readonly names: readonly string[];
  /**
   * Returns the enforced value of one occurrence, or several (the occurrence is then repeated, for a parameter
   * whose occurrences the upstream ORs); throws to refuse the request.
   */
  readonly rewrite: (value: string, name: string) => string | readonly string[];
  /** When no name occurs anywhere: the `[name, value]` pairs to add, or undefined to add nothing. */
  readonly whenMissing?: () => readonly (readonly [string, string])[] | undefined;
}

/**
 * Applies `spec` to `req` in place.
 * @throws UnsupportedInput (`mediaType`) for a body that is not a form (see params.ts).
 */
export async function rewriteRequestParams(req: ParamsRequest, spec: ParamRewrite): Promise<void> {
  const params = await readRequestParams(req);
  let found = false;
  const rewritten: Param[] = params.flatMap(([name, value]): Param[] => {
    if (!spec.names.includes(name)) return [[name, value]];
    found = true;
    const values = spec.rewrite(value, name);
    return typeof values === 'string' ? [[name, values]] : values.map((v): Param => [name, v]);
  });
  const extra = found ? undefined : spec.whenMissing?.();
  if (extra) rewritten.push(...extra.map(([name, value]): Param => [name, value]));
  writeRequestParams(req, rewritten);
}
