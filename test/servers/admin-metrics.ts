import { sendRaw } from './http-client.js';

/**
 * The value of the first sample of `name` on a gateway's admin `/metrics` whose label set contains `labels`
 * (e.g. `sink="otlp"`; any when empty); NaN when there is none.
 */
export async function metricValue(adminUrl: string, name: string, labels = ''): Promise<number> {
  const text = (await sendRaw(adminUrl, { path: '/metrics' })).body.toString();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line === undefined ? Number.NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** Polls `metricValue` every 10 ms until it reaches `atLeast`, at most `attempts` times. */
export async function untilMetric(
  adminUrl: string,
  name: string,
  atLeast: number,
  options: { labels?: string; attempts: number },
): Promise<void> {
  for (let attempt = 0; attempt < options.attempts; attempt++) {
    if ((await metricValue(adminUrl, name, options.labels)) >= atLeast) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${name} never reached ${atLeast}`);
}
