import { readRequestParams, type Param } from '../enforce/params.js';
import type { Identity } from '../identity/identity.js';
import type { Admission } from '../limits/limiter.js';
import { isCostedQuery, readSpanAndStep } from '../limits/query-cost.js';
import { tenantSetKey } from '../limits/rules.js';
import type { QueryCostAccounting } from '../observability/query-cost-accounting.js';
import { MAX_QUERY_CHARS } from '../observability/query-cost-ledger.js';
import type { CostReport, Endpoint, EndpointQuery, ProxyRequest } from '../routing/endpoint.js';
import type { ResponseCost } from '../upstream/cost-reading-handler.js';
import { isPromise, type MaybePromise } from '../core/maybe-async.js';

/** The parts of the enforced request a meter reads (send-upstream.ts' `EnforcedRequest` is one). */
export interface MeteredRequest {
  readonly request: ProxyRequest;
  readonly endpoint: Pick<Endpoint, 'name' | 'query'>;
  readonly upstream: { readonly name: string };
  readonly enforce: { readonly tenants: readonly string[] };
}

/**
 * What one query costs, from its request to its response's last byte (docs/query-cost.md): which statistics
 * the response is read for (the row's `reports`), whether the gateway asked for them (then they are removed
 * from the answer), and, once the response was sent, the record for the metrics and the ledger and the charge
 * to the limit rules' budgets.
 */
export interface QueryMeter {
  readonly report: CostReport | undefined;
  /** The gateway added the ask parameter: the statistics are removed from the answer. */
  readonly strip: boolean;
  /** Filled in by the response path (upstream/cost-reading-handler.ts). */
  readonly cost: ResponseCost;
  /** The response was sent: account for the query. */
  finish(): void;
}

const FORM_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH']);

/**
 * A meter for a costed query (instant, range, search), `undefined` for anything else or with accounting off.
 * Adds the row's ask parameter to the query string when the caller sent none (Prometheus reads `stats` from
 * the URL and the form alike); a caller that sent one, even empty, gets its answer as the backend gives it.
 * Waits only for a form body's parameters.
 */
export function meterQuery(
  built: MeteredRequest,
  admission: Admission,
  identity: Identity,
  startMs: number,
  accounting: QueryCostAccounting | undefined,
): MaybePromise<QueryMeter | undefined> {
  const query = built.endpoint.query;
  if (accounting === undefined || !isCostedQuery(query)) return undefined;
  const { request } = built;
  const params =
    FORM_METHODS.has(request.method.toUpperCase()) && request.body !== undefined && request.body.length > 0
      ? readRequestParams(request)
      : [...new URLSearchParams(request.query)];
  const make = (read: readonly Param[]) => createMeter(built, read, query, admission, identity, startMs, accounting);
  return isPromise(params) ? params.then(make) : make(params);
}

function createMeter(
  built: MeteredRequest,
  params: readonly Param[],
  query: EndpointQuery,
  admission: Admission,
  identity: Identity,
  startMs: number,
  accounting: QueryCostAccounting,
): QueryMeter {
  const { request, endpoint, upstream, enforce } = built;
  const report = query.reports;
  const ask = report?.askParam;
  const strip = ask !== undefined && accounting.askBackend && !params.some(([name]) => name === ask.name);
  if (strip) addParam(request, ask.name, ask.value);
  const text = params
    .filter(([name]) => query.params.includes(name))
    .map(([, value]) => value)
    .join('\n')
    .slice(0, MAX_QUERY_CHARS + 1);
  const { spanMs, stepMs } = readSpanAndStep(params, query.times);
  const cost: ResponseCost = { bytes: 0, reported: undefined };
  return {
    report,
    strip,
    cost,
    finish() {
      const seconds = (performance.now() - startMs) / 1000;
      const reported = cost.reported;
      accounting.record({
        tenant: tenantSetKey(enforce.tenants),
        identity: identity.subject,
        upstream: upstream.name,
        endpoint: endpoint.name,
        query: text,
        samples: reported?.samples,
        bytesProcessed: reported?.bytesProcessed,
        responseBytes: cost.bytes,
        seconds,
        rangeSeconds: spanMs === undefined ? undefined : spanMs / 1000,
        stepSeconds: stepMs === undefined ? undefined : stepMs / 1000,
      });
      admission.charge({ samples: reported?.samples, seconds });
    },
  };
}

function addParam(request: ProxyRequest, name: string, value: string): void {
  const pair = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  request.query = request.query === '' ? pair : `${request.query}&${pair}`;
}
