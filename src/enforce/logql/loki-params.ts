/**
 * Rewrites every occurrence of some parameters in a Loki request: the URL query and a form body.
 *
 * Loki reads parameters with Go's `r.ParseForm()` + `r.Form`: the URL query and, for POST/PUT/PATCH with
 * `application/x-www-form-urlencoded`, the body, body values first. A parameter may occur many times in both
 * places and Loki picks one; so every occurrence is rewritten, and both the query string and the body are
 * rebuilt from the rewritten pairs (canonical encoding: Go decodes exactly what was checked).
 * A local stand-in for src/enforce/params.ts, kept to the same rules.
 */
import type { ProxyRequest } from '../../routing/endpoint.js';
import { UnsupportedInput } from '../errors.js';

const FORM_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);
const FORM_TYPE = 'application/x-www-form-urlencoded';

export interface ParamRewrite {
  /** Parameter names to rewrite (exact, case-sensitive as in Go). */
  readonly names: readonly string[];
  /** Returns the enforced value of one occurrence; throws to refuse the request. */
  readonly rewrite: (value: string, name: string) => string;
  /** When no name occurs anywhere: a `[name, value]` pair to add to the URL, or undefined to add nothing. */
  readonly whenMissing?: () => readonly [string, string] | undefined;
}

/**
 * Applies `spec` to `req` in place.
 * @throws UnsupportedInput (`mediaType`) for a non-empty POST/PUT/PATCH body that is not a URL-encoded form:
 *   the gateway cannot tell what the upstream would read from it.
 */
export function rewriteRequestParams(req: ProxyRequest, spec: ParamRewrite): void {
  let found = false;
  const rewritePairs = (params: URLSearchParams): URLSearchParams => {
    const out = new URLSearchParams();
    for (const [name, value] of params) {
      if (spec.names.includes(name)) {
        found = true;
        out.append(name, spec.rewrite(value, name));
      } else {
        out.append(name, value);
      }
    }
    return out;
  };
  const query = rewritePairs(new URLSearchParams(req.query));
  if (hasFormBody(req)) {
    const body = rewritePairs(new URLSearchParams((req.body as Buffer).toString('utf8')));
    req.body = Buffer.from(body.toString(), 'utf8');
  }
  const extra = found ? undefined : spec.whenMissing?.();
  if (extra) query.append(extra[0], extra[1]);
  req.query = query.toString();
}

function hasFormBody(req: ProxyRequest): boolean {
  if (!FORM_METHODS.has(req.method.toUpperCase()) || req.body === undefined || req.body.length === 0) return false;
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== FORM_TYPE) {
    throw new UnsupportedInput(`a request body must be ${FORM_TYPE} on this endpoint`, { mediaType: true });
  }
  return true;
}
