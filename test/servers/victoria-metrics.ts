import { findFreePort, retryOnPortClash } from './free-port.js';
import { makeTempDir, startManagedProcess } from './managed-process.js';
import { chooseSampleTime, DEFAULT_SERIES, toPrometheusText, type SampleSeries } from './sample-series.js';

export interface VictoriaMetricsOptions {
  /** Series to import; default `DEFAULT_SERIES`. */
  readonly series?: readonly SampleSeries[];
}

export interface VictoriaMetricsServer {
  readonly url: string;
  /** Unix seconds of the last sample of every series: query with `time=<sampleTime>`. */
  readonly sampleTime: number;
  readonly series: readonly SampleSeries[];
  stop(): Promise<void>;
}

/**
 * Runs /usr/bin/victoria-metrics on 127.0.0.1, imports the series through /api/v1/import/prometheus and waits
 * until they are queryable (force_flush makes the in-memory parts searchable at once).
 */
export async function startVictoriaMetrics(options: VictoriaMetricsOptions = {}): Promise<VictoriaMetricsServer> {
  const series = options.series ?? DEFAULT_SERIES;
  const sampleTime = chooseSampleTime();
  return retryOnPortClash(async () => {
    const dir = await makeTempDir('victoria-metrics');
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = startManagedProcess(
      '/usr/bin/victoria-metrics',
      [
        `-httpListenAddr=127.0.0.1:${port}`,
        `-storageDataPath=${dir}`,
        '-retentionPeriod=100y',
        '-search.disableCache',
        '-loggerLevel=ERROR',
      ],
      dir,
    );
    await proc.waitUntilOk(`${url}/health`);
    try {
      await importSeries(url, toPrometheusText(series, sampleTime));
      await waitUntilQueryable(url, series.length, sampleTime);
    } catch (error) {
      await proc.stop();
      throw error;
    }
    return { url, sampleTime, series, stop: proc.stop };
  });
}

async function importSeries(url: string, text: string): Promise<void> {
  const response = await fetch(`${url}/api/v1/import/prometheus`, { method: 'POST', body: text });
  if (!response.ok) throw new Error(`victoria-metrics import failed: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

async function waitUntilQueryable(url: string, expected: number, sampleTime: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    await (await fetch(`${url}/internal/force_flush`)).arrayBuffer();
    const query = new URLSearchParams({ query: 'count({__name__!=""})', time: String(sampleTime) });
    const body = (await (await fetch(`${url}/api/v1/query?${query}`)).json()) as { data: { result: { value: [number, string] }[] } };
    if (Number(body.data.result[0]?.value[1] ?? 0) >= expected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('victoria-metrics: imported series did not become queryable in time');
}
