/**
 * The team's default dataset: three tenants by `namespace`, shared metric names, one series without the
 * namespace label and series that differ only by `cluster`. Tests assert against this description exactly.
 * Each series has `values` at `SAMPLE_STEP_SECONDS` apart, the last one at the launcher's `sampleTime`.
 */
export interface SampleSeries {
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly labels: Readonly<Record<string, string>>;
  readonly values: readonly number[];
}

export const SAMPLE_STEP_SECONDS = 15;
export const NAMESPACES = ['team-a', 'team-b', 'team-c'] as const;

function counter(labels: Record<string, string>, last: number): SampleSeries {
  return { name: 'http_requests_total', type: 'counter', labels, values: [last - 40, last - 30, last - 20, last - 10, last] };
}

export const DEFAULT_SERIES: readonly SampleSeries[] = Object.freeze([
  counter({ namespace: 'team-a', job: 'api', code: '200' }, 100),
  counter({ namespace: 'team-a', job: 'api', code: '500' }, 50),
  counter({ namespace: 'team-b', job: 'api', code: '200' }, 200),
  counter({ namespace: 'team-c', job: 'web', code: '200' }, 300),
  ...NAMESPACES.map((namespace) => ({
    name: 'service_up',
    type: 'gauge' as const,
    labels: { namespace, job: 'api' },
    values: [1, 1, 1, 1, 1],
  })),
  {
    name: 'node_boot_time_seconds',
    type: 'gauge',
    labels: { job: 'node', instance: 'node-1' },
    values: [1_600_000_000, 1_600_000_000, 1_600_000_000, 1_600_000_000, 1_600_000_000],
  },
  { name: 'deployment_replicas', type: 'gauge', labels: { namespace: 'team-a', cluster: 'eu-1' }, values: [3, 3, 3, 3, 3] },
  { name: 'deployment_replicas', type: 'gauge', labels: { namespace: 'team-a', cluster: 'us-1' }, values: [5, 5, 5, 5, 5] },
]);

/** A time a few minutes back, whole seconds, so the last sample is inside Prometheus' 5m lookback. */
export function chooseSampleTime(nowMs = Date.now()): number {
  return Math.floor(nowMs / 1000) - 60;
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return pairs.length === 0 ? '' : `{${pairs.join(',')}}`;
}

function timestampsOf(series: SampleSeries, sampleTime: number): number[] {
  return series.values.map((_, i) => sampleTime - (series.values.length - 1 - i) * SAMPLE_STEP_SECONDS);
}

/** OpenMetrics text for `promtool tsdb create-blocks-from openmetrics` (timestamps in seconds; families contiguous). */
export function toOpenMetrics(series: readonly SampleSeries[], sampleTime: number): string {
  const lines: string[] = [];
  const families = new Map<string, SampleSeries[]>();
  for (const s of series) families.set(s.name, [...(families.get(s.name) ?? []), s]);
  for (const [name, members] of families) {
    const type = members[0]?.type ?? 'gauge';
    const family = type === 'counter' ? name.replace(/_total$/, '') : name;
    lines.push(`# TYPE ${family} ${type}`);
    for (const s of members) {
      for (const [i, t] of timestampsOf(s, sampleTime).entries()) lines.push(`${name}${formatLabels(s.labels)} ${s.values[i]} ${t}`);
    }
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

/** Prometheus text with millisecond timestamps, for VictoriaMetrics' /api/v1/import/prometheus. */
export function toPrometheusText(series: readonly SampleSeries[], sampleTime: number): string {
  const lines = series.flatMap((s) =>
    timestampsOf(s, sampleTime).map((t, i) => `${s.name}${formatLabels(s.labels)} ${s.values[i]} ${t * 1000}`),
  );
  return `${lines.join('\n')}\n`;
}
