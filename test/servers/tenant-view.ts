import assert from 'node:assert/strict';
import { DEFAULT_SERIES, type SampleSeries } from './sample-series.js';

/**
 * What one tenant may see of a dataset, and the assertions that a Prometheus API answer holds nothing else.
 * "Visible" means: the series carries the policy label with one of the allowed values; a series without the
 * label belongs to nobody and is never visible to a limited policy.
 */

/** The series of `series` whose `namespace` is one of `namespaces`. */
export function seriesVisibleTo(namespaces: readonly string[], series: readonly SampleSeries[] = DEFAULT_SERIES): SampleSeries[] {
  return series.filter((s) => s.labels.namespace !== undefined && namespaces.includes(s.labels.namespace));
}

/** `sum(<name>)` as the tenant alone would get it, `stepsBack` samples before the last one. */
export function sumVisible(name: string, namespaces: readonly string[], stepsBack = 0): number {
  return seriesVisibleTo(namespaces)
    .filter((s) => s.name === name)
    .reduce((total, s) => total + (s.values[s.values.length - 1 - stepsBack] ?? 0), 0);
}

interface PromSeriesResult {
  readonly metric?: Record<string, string>;
  readonly value?: [number, string];
  readonly values?: [number, string][];
}

interface PromEnvelope {
  readonly status: string;
  readonly data: unknown;
}

/** Throws unless every series of a query / query_range / query_exemplars answer is in `namespaces`. */
export function assertQueryResultWithin(envelope: PromEnvelope, namespaces: readonly string[], context: string): PromSeriesResult[] {
  assert.equal(envelope.status, 'success', context);
  const data = envelope.data as { resultType?: string; result?: unknown };
  if (Array.isArray(data)) {
    // query_exemplars: [{ seriesLabels, exemplars }]
    for (const entry of data as { seriesLabels: Record<string, string> }[]) {
      assertLabelSetWithin(entry.seriesLabels, namespaces, context);
    }
    return [];
  }
  if (data.resultType !== 'vector' && data.resultType !== 'matrix') return [];
  const result = data.result as PromSeriesResult[];
  for (const series of result) assertLabelSetWithin(series.metric ?? {}, namespaces, context);
  return result;
}

/** Throws unless a label set carries `namespace` with an allowed value. */
export function assertLabelSetWithin(labels: Readonly<Record<string, string>>, namespaces: readonly string[], context: string): void {
  const namespace = labels.namespace;
  assert.ok(
    namespace !== undefined && namespaces.includes(namespace),
    `${context}: series ${JSON.stringify(labels)} is outside ${namespaces.join('|')}`,
  );
}

/** Throws unless every `/federate` sample line carries an allowed namespace. Returns the sample count. */
export function assertFederateWithin(text: string, namespaces: readonly string[], context: string): number {
  const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  for (const line of samples) {
    const namespace = /[{,]namespace="([^"]*)"/.exec(line)?.[1];
    assert.ok(namespace !== undefined && namespaces.includes(namespace), `${context}: federate line outside the policy: ${line}`);
  }
  return samples.length;
}
