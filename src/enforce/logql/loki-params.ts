/**
 * Rewrites every occurrence of some parameters in a Loki request, on top of the shared parameter reader
 * (src/enforce/params.ts): Loki reads parameters with Go's `r.ParseForm()` like Prometheus, form body first,
 * then the URL. Every occurrence is rewritten and the outgoing request is rebuilt from the rewritten pairs.
 */
import { readRequestParams, writeRequestParams, type Param, type ParamsRequest } from '../params.js';

export interface ParamRewrite {
  /** Parameter names to rewrite (exact, case-sensitive as in Go). */
  readonly names: readonly string[];
  /** Returns the enforced value of one occurrence; throws to refuse the request. */
  readonly rewrite: (value: string, name: string) => string;
  /** When no name occurs anywhere: a `[name, value]` pair to add, or undefined to add nothing. */
  readonly whenMissing?: () => readonly [string, string] | undefined;
}

/**
 * Applies `spec` to `req` in place.
 * @throws UnsupportedInput (`mediaType`) for a body that is not a form (see params.ts).
 */
export async function rewriteRequestParams(req: ParamsRequest, spec: ParamRewrite): Promise<void> {
  const params = await readRequestParams(req);
  let found = false;
  const rewritten: Param[] = params.map(([name, value]) => {
    if (!spec.names.includes(name)) return [name, value];
    found = true;
    return [name, spec.rewrite(value, name)];
  });
  const extra = found ? undefined : spec.whenMissing?.();
  if (extra) rewritten.push(extra);
  writeRequestParams(req, rewritten);
}
