import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { enforceQuery } from '../src/enforce/promql/enforce.js';
import { parsePromQL } from '../src/enforce/promql/parse.js';
import { createCachedPromQLEnforcer } from '../src/enforce/promql/rewrite-cache.js';
import { buildLabelPolicy, type LabelPolicy } from '../src/policy/label-policy.js';

/**
 * PromQL enforcement throughput: rewrites per second over dashboard queries as Grafana's node-exporter and
 * kube-state-metrics dashboards send them, for a one-namespace policy and a regex policy, uncached and through
 * the per-upstream LRU (rewrite-cache.ts) once every query is in it, as on a dashboard's second refresh.
 * "parse only" is the lezer parse and node check alone, the floor under every rewrite. Pure CPU, no sockets.
 *
 * Part of `npm run bench` (bench/run.ts calls `runPromqlEnforceBench()`); alone:
 * `node --import tsx bench/promql-enforce.ts [--seconds 2] [--json]`.
 */

export const DASHBOARD_QUERIES: readonly string[] = [
  'sum(rate(container_cpu_usage_seconds_total{container!="", image!=""}[5m])) by (pod)',
  'sum(container_memory_working_set_bytes{container!="", image!=""}) by (pod)',
  'kube_pod_status_phase{phase=~"Pending|Unknown"} > 0',
  'sum by (namespace) (kube_pod_container_resource_requests{resource="cpu"})',
  'sum(kube_deployment_status_replicas_available) by (deployment) / sum(kube_deployment_spec_replicas) by (deployment)',
  'increase(kube_pod_container_status_restarts_total[1h]) > 0',
  'histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{job="api"}[5m])) by (le, route))',
  'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
  '1 - avg(rate(node_cpu_seconds_total{mode="idle"}[5m])) by (instance)',
  'node_memory_MemAvailable_bytes{job="node-exporter"} / node_memory_MemTotal_bytes{job="node-exporter"}',
  '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|overlay"} / node_filesystem_size_bytes{fstype!~"tmpfs|overlay"}',
  'rate(node_network_receive_bytes_total{device!~"lo|veth.*"}[5m])',
  'predict_linear(node_filesystem_free_bytes{mountpoint="/"}[6h], 4 * 3600) < 0',
  'topk(10, sum by (pod) (rate(container_network_transmit_bytes_total[5m])))',
  'kube_horizontalpodautoscaler_status_current_replicas / kube_horizontalpodautoscaler_spec_max_replicas',
  'max_over_time(sum(rate(container_cpu_usage_seconds_total[1m]))[1h:5m])',
  'sum(kube_pod_container_resource_limits{resource="memory"}) by (pod) - sum(container_memory_working_set_bytes) by (pod)',
  'label_replace(kube_pod_info{namespace="team-a"}, "node_name", "$1", "node", "(.*)")',
  'avg_over_time(up{job="kubelet"}[10m]) < 0.9',
  'sum(rate(apiserver_request_total{verb=~"LIST|GET", code=~"2.."}[5m] offset 1d))',
  'count(count by (image) (container_last_seen{image!=""}))',
];

const POLICIES: readonly { readonly name: string; readonly policy: LabelPolicy }[] = [
  { name: 'one namespace', policy: buildLabelPolicy({ values: ['team-a'] }) as LabelPolicy },
  { name: 'regex', policy: buildLabelPolicy({ values: ['team-a', 'team-b-.*', 'min.*'] }) as LabelPolicy },
];

export interface EnforceBenchRow {
  readonly case: string;
  readonly rewritesPerSecond: number;
  readonly microsecondsPerRewrite: number;
}

/** Runs `step` over every query for at least `seconds`, after a short warm-up; returns rewrites per second. */
function measure(seconds: number, step: (query: string) => unknown): number {
  const run = (deadlineNs: bigint): { count: number; elapsedNs: bigint } => {
    const start = process.hrtime.bigint();
    let count = 0;
    let sink = 0;
    while (process.hrtime.bigint() < deadlineNs) {
      for (const query of DASHBOARD_QUERIES) sink += (step(query) as string | undefined)?.length ?? 0;
      count += DASHBOARD_QUERIES.length;
    }
    if (sink < 0) throw new Error('unreachable: keeps the results alive');
    return { count, elapsedNs: process.hrtime.bigint() - start };
  };
  run(process.hrtime.bigint() + BigInt(Math.round(seconds * 0.25e9)));
  const { count, elapsedNs } = run(process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9)));
  return count / (Number(elapsedNs) / 1e9);
}

/** Every case once; `seconds` of measurement each. */
export function runPromqlEnforceBench(options: { seconds?: number } = {}): EnforceBenchRow[] {
  const seconds = options.seconds ?? 2;
  const cases: { name: string; step: (query: string) => unknown }[] = [
    { name: 'parse only', step: (query) => parsePromQL(query).text },
    ...POLICIES.map(({ name, policy }) => ({ name: `enforce, ${name}`, step: (query: string) => enforceQuery(query, policy) })),
    ...POLICIES.map(({ name, policy }) => {
      const cache = createCachedPromQLEnforcer({ maxEntries: 1000, maxQueryLength: 4096 });
      return { name: `cached hit, ${name}`, step: (query: string) => cache.enforceQuery(query, policy) };
    }),
  ];
  return cases.map(({ name, step }) => {
    const rate = measure(seconds, step);
    return { case: name, rewritesPerSecond: Math.round(rate), microsecondsPerRewrite: Number((1e6 / rate).toFixed(1)) };
  });
}

export function formatEnforceBench(rows: readonly EnforceBenchRow[]): string {
  const lines = [`PromQL enforcement, ${DASHBOARD_QUERIES.length} dashboard queries (node ${process.version})`];
  lines.push(`${'case'.padEnd(28)}${'rewrites/s'.padStart(12)}${'µs/rewrite'.padStart(12)}`);
  for (const row of rows) {
    lines.push(`${row.case.padEnd(28)}${String(row.rewritesPerSecond).padStart(12)}${row.microsecondsPerRewrite.toFixed(1).padStart(12)}`);
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { seconds: { type: 'string', default: '2' }, json: { type: 'boolean', default: false } } });
  const rows = runPromqlEnforceBench({ seconds: Number(values.seconds) });
  process.stdout.write(`${values.json ? JSON.stringify(rows, null, 2) : formatEnforceBench(rows)}\n`);
}
