import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findFreePort, retryOnPortClash } from './free-port.js';
import { makeTempDir, startManagedProcess } from './managed-process.js';
import { chooseSampleTime, DEFAULT_SERIES, toOpenMetrics, type SampleSeries } from './sample-series.js';

const run = promisify(execFile);

/** Rule groups of the default rule file, described so tests can assert /api/v1/rules and /api/v1/alerts. */
export const DEFAULT_RULES = Object.freeze({
  /** One group per namespace, each with one recording rule labelled with its namespace. */
  recording: Object.freeze([
    { group: 'team-a', record: 'namespace:http_requests:sum', namespace: 'team-a' },
    { group: 'team-b', record: 'namespace:http_requests:sum', namespace: 'team-b' },
    { group: 'team-c', record: 'namespace:http_requests:sum', namespace: 'team-c' },
  ]),
  /** Firing at once (`vector(1)`, no `for`) / pending for an hour / firing without a namespace label. */
  alerting: Object.freeze([
    { group: 'team-a', alert: 'TeamAAlwaysFiring', namespace: 'team-a', state: 'firing' },
    { group: 'team-b', alert: 'TeamBPending', namespace: 'team-b', state: 'pending' },
    { group: 'cluster', alert: 'ClusterWideFiring', namespace: undefined, state: 'firing' },
  ]),
});

const RULES_YAML = `groups:
  - name: team-a
    interval: 1s
    rules:
      - record: namespace:http_requests:sum
        expr: sum(http_requests_total{namespace="team-a"})
        labels: { namespace: team-a }
      - alert: TeamAAlwaysFiring
        expr: vector(1)
        labels: { namespace: team-a, severity: warning }
        annotations: { summary: team-a alert }
  - name: team-b
    interval: 1s
    rules:
      - record: namespace:http_requests:sum
        expr: sum(http_requests_total{namespace="team-b"})
        labels: { namespace: team-b }
      - alert: TeamBPending
        expr: vector(1)
        for: 1h
        labels: { namespace: team-b, severity: critical }
  - name: team-c
    interval: 1s
    rules:
      - record: namespace:http_requests:sum
        expr: sum(http_requests_total{namespace="team-c"})
        labels: { namespace: team-c }
  - name: cluster
    interval: 1s
    rules:
      - alert: ClusterWideFiring
        expr: vector(1)
        labels: { severity: info }
`;

export interface PrometheusOptions {
  /** Series to backfill; default `DEFAULT_SERIES`. */
  readonly series?: readonly SampleSeries[];
  /** Rule file content; default the rules in `DEFAULT_RULES`. */
  readonly rulesYaml?: string;
}

export interface PrometheusServer {
  readonly url: string;
  /** Unix seconds of the last sample of every series: query with `time=<sampleTime>`. */
  readonly sampleTime: number;
  readonly series: readonly SampleSeries[];
  stop(): Promise<void>;
  /** SIGKILL, as a crash or an OOM kill: open connections are cut, nothing is drained. */
  kill(): Promise<void>;
}

/**
 * Runs /usr/bin/prometheus on 127.0.0.1 with the remote-write receiver, its data backfilled by promtool
 * before start (deterministic: no scrape timing), and waits until it is ready and has evaluated its rules.
 */
export async function startPrometheus(options: PrometheusOptions = {}): Promise<PrometheusServer> {
  const series = options.series ?? DEFAULT_SERIES;
  const sampleTime = chooseSampleTime();
  return retryOnPortClash(async () => {
    const dir = await makeTempDir('prometheus');
    const dataDir = join(dir, 'data');
    await writeFile(join(dir, 'series.om'), toOpenMetrics(series, sampleTime));
    await writeFile(join(dir, 'rules.yml'), options.rulesYaml ?? RULES_YAML);
    await writeFile(join(dir, 'prometheus.yml'), 'global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n');
    await run('/usr/bin/promtool', ['tsdb', 'create-blocks-from', 'openmetrics', '--quiet', join(dir, 'series.om'), dataDir]);
    const port = await findFreePort();
    const url = `http://127.0.0.1:${port}`;
    const proc = startManagedProcess(
      '/usr/bin/prometheus',
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${dataDir}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-remote-write-receiver',
        '--storage.tsdb.retention.time=100y',
        '--log.level=warn',
      ],
      dir,
    );
    await proc.waitUntilOk(`${url}/-/ready`);
    await waitForRuleEvaluation(url, proc.stop);
    return {
      url,
      sampleTime,
      series,
      stop: proc.stop,
      kill: async () => {
        proc.child.kill('SIGKILL');
        await proc.stop();
      },
    };
  });
}

interface RulesBody {
  data: { groups: { rules: { health: string }[] }[] };
}

/**
 * Waits until every rule has been evaluated once (health leaves "unknown"), so /api/v1/rules, /api/v1/alerts
 * and the recorded series are the same in every run.
 */
async function waitForRuleEvaluation(url: string, stop: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const body = (await (await fetch(`${url}/api/v1/rules`)).json()) as RulesBody;
    if (body.data.groups.every((g) => g.rules.every((r) => r.health !== 'unknown'))) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error('prometheus did not evaluate its rules in time');
}
