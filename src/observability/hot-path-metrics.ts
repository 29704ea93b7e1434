import type { Metric, Registry, RegistryContentType } from 'prom-client';

/**
 * A counter and a histogram for the metrics written on every request, kept as plain numbers per series.
 * prom-client's label children re-hash the label object (sort, join), re-validate it and allocate on every
 * inc/observe (~0.9 KB and ~1.5-3 µs a request); here a series is found through one Map per label, keyed by the
 * label values themselves: no key string is built, and a string caches its own hash, so a name from the config is
 * hashed once. A request allocates nothing here and costs ~0.1 µs.
 *
 * Each is registered on a prom-client Registry as a metric of its own. A Registry reads `name`, `help`, `type`
 * and `aggregator` and calls `get()` (the exposition, `getMetricsAsJSON`, a cluster primary's
 * `AggregatorRegistry.aggregate`) and `reset()` (`resetMetrics`), nothing else (prom-client 15 lib/registry.js,
 * lib/cluster.js); `get()` answers the shape prom-client's Counter and Histogram answer, series in the order of
 * first use as theirs, so the exposition is the same line for line (hot-path-metrics.test.ts compares them).
 * There is one entry per series, as in prom-client's own map of children: the number of series is bounded by the
 * label values (names from the config, status codes), not by evicting series, which would lose their counts.
 */
export type LabelValue = string | number;
/** Up to four label values, passed one by one: an array made per call would be the only allocation left. */
type LabelValues = [LabelValue, LabelValue?, LabelValue?, LabelValue?];

interface HotPathMetricOptions {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly registry: Registry<RegistryContentType>;
}

type Labels = Record<string, string>;
type SeriesIndex = Map<LabelValue, unknown>;

const MAX_LABELS = 4;

function childOf(node: unknown, value: LabelValue | undefined): unknown {
  return (node as SeriesIndex | undefined)?.get(value as LabelValue);
}

abstract class HotPathMetric<Series extends { readonly labels: Labels }> {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly #labelNames: readonly string[];
  /** Label value → the next label's index; the last label's index holds the series. */
  readonly #index: SeriesIndex = new Map();
  /** Every series, in the order of first use. */
  protected readonly series: Series[] = [];

  constructor(options: HotPathMetricOptions) {
    if (options.labelNames.length < 1 || options.labelNames.length > MAX_LABELS) {
      throw new Error(`${options.name}: between 1 and ${MAX_LABELS} label names`);
    }
    this.name = options.name;
    this.help = options.help;
    this.#labelNames = options.labelNames;
    // prom-client's types admit only its own metric classes; the top of this file says what a Registry uses.
    options.registry.registerMetric(this as unknown as Metric);
  }

  reset(): void {
    this.#index.clear();
    this.series.length = 0;
  }

  protected abstract createSeries(labels: Labels): Series;

  /** The series at these label values (in `labelNames` order), made on first use. */
  protected seriesOf(a?: LabelValue, b?: LabelValue, c?: LabelValue, d?: LabelValue): Series {
    const depth = this.#labelNames.length;
    let node = childOf(this.#index, a);
    if (depth > 1) node = childOf(node, b);
    if (depth > 2) node = childOf(node, c);
    if (depth > 3) node = childOf(node, d);
    return (node as Series | undefined) ?? this.#addSeries([a, b, c, d].slice(0, depth));
  }

  #addSeries(values: (LabelValue | undefined)[]): Series {
    if (values.includes(undefined)) throw new Error(`${this.name}: expected ${values.length} label values`);
    const labels = Object.fromEntries(this.#labelNames.map((name, i) => [name, String(values[i])]));
    const series = this.createSeries(labels);
    let index = this.#index;
    for (const value of values.slice(0, -1) as LabelValue[]) {
      let next = index.get(value) as SeriesIndex | undefined;
      if (next === undefined) index.set(value, (next = new Map()));
      index = next;
    }
    index.set(values.at(-1) as LabelValue, series);
    this.series.push(series);
    return series;
  }
}

interface CounterSeries {
  readonly labels: Labels;
  value: number;
}

export class HotPathCounter<Values extends LabelValues> extends HotPathMetric<CounterSeries> {
  readonly type = 'counter';

  /** One more at these label values, in `labelNames` order. */
  inc(...values: Values): void;
  inc(a?: LabelValue, b?: LabelValue, c?: LabelValue, d?: LabelValue): void {
    this.seriesOf(a, b, c, d).value += 1;
  }

  protected createSeries(labels: Labels): CounterSeries {
    return { labels, value: 0 };
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, values: [...this.series], aggregator: this.aggregator };
  }
}

interface HistogramSeries {
  readonly labels: Labels;
  /** Observations per bucket, not cumulative; one above the last bound counts only in `count`. */
  readonly bucketCounts: number[];
  sum: number;
  count: number;
}

export class HotPathHistogram<Values extends LabelValues> extends HotPathMetric<HistogramSeries> {
  readonly type = 'histogram';
  readonly #upperBounds: readonly number[];

  constructor(options: HotPathMetricOptions & { readonly buckets: readonly number[] }) {
    super(options);
    this.#upperBounds = options.buckets;
  }

  /** As prom-client's observe: a value is counted in the first bucket whose bound is >= it; NaN or ±Infinity throws. */
  observe(value: number, ...values: Values): void;
  observe(value: number, a?: LabelValue, b?: LabelValue, c?: LabelValue, d?: LabelValue): void {
    if (!Number.isFinite(value)) throw new TypeError(`${this.name}: value is not a valid number: ${value}`);
    const series = this.seriesOf(a, b, c, d);
    // A loop rather than findIndex, whose callback would be a closure allocated per call.
    let bucket = 0;
    while (bucket < this.#upperBounds.length && value > this.#upperBounds[bucket]!) bucket++;
    if (bucket < series.bucketCounts.length) series.bucketCounts[bucket]! += 1;
    series.sum += value;
    series.count += 1;
  }

  protected createSeries(labels: Labels): HistogramSeries {
    return { labels, bucketCounts: this.#upperBounds.map(() => 0), sum: 0, count: 0 };
  }

  /** As prom-client's Histogram.get(): per series, cumulative `_bucket` values with `le` first, `+Inf`, `_sum`, `_count`. */
  async get() {
    const values = this.series.flatMap(({ labels, bucketCounts, sum, count }) => {
      let cumulative = 0;
      return [
        ...this.#upperBounds.map((le, i) => {
          cumulative += bucketCounts[i]!;
          return { labels: { le, ...labels }, value: cumulative, metricName: `${this.name}_bucket` };
        }),
        { labels: { le: '+Inf', ...labels }, value: count, metricName: `${this.name}_bucket` },
        { labels, value: sum, metricName: `${this.name}_sum` },
        { labels, value: count, metricName: `${this.name}_count` },
      ];
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
