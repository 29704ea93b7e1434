// Preloaded into a gateway by bench/read-path-probe.ts (`node --import ./bench/probe-preload.mjs`): on SIGUSR2 it
// appends one JSON line to $PROBE_OUT with what happened since the previous SIGUSR2 (event-loop delay
// percentiles, GC pauses by kind, process.memoryUsage()), then starts a new window. Bench only: never shipped.
import { appendFileSync, readFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

const out = process.env.PROBE_OUT;
if (out) {
  const delay = monitorEventLoopDelay({ resolution: 2 });
  delay.enable();
  const KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'markCompact',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let gc = {};
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = KINDS[entry.detail?.kind] ?? `kind${entry.detail?.kind}`;
      const slot = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0, over5ms: 0 });
      slot.count += 1;
      slot.totalMs += entry.duration;
      slot.maxMs = Math.max(slot.maxMs, entry.duration);
      if (entry.duration > 5) slot.over5ms += 1;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  let since = performance.now();
  process.on('SIGUSR2', () => {
    const now = performance.now();
    const ms = (ns) => Math.round(ns / 1e4) / 100;
    const memory = Object.fromEntries(Object.entries(process.memoryUsage()).map(([k, v]) => [k, Math.round(v / 1048576)]));
    const spaces = Object.fromEntries(
      getHeapSpaceStatistics()
        .filter((s) => s.space_size > 1048576)
        .map((s) => [s.space_name, Math.round(s.space_size / 1048576)]),
    );
    appendFileSync(
      out,
      `${JSON.stringify({
        windowMs: Math.round(now - since),
        delay: { p50: ms(delay.percentile(50)), p99: ms(delay.percentile(99)), p999: ms(delay.percentile(99.9)), max: ms(delay.max) },
        gc,
        memoryMiB: memory,
        spaces,
        ...(process.env.PROBE_SMAPS ? { mappings: largestMappings() } : {}),
      })}\n`,
    );
    delay.reset();
    gc = {};
    since = now;
  });
}

/** The ten largest resident mappings (MiB), anonymous ones by their size class: where the RSS is. */
function largestMappings() {
  const out = [];
  let current;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const sizeMiB = (Number.parseInt(head[2], 16) - Number.parseInt(head[1], 16)) / 1048576;
      current = { name: head[3] || `anon ${sizeMiB.toFixed(1)} MiB`, rss: 0 };
      out.push(current);
    } else if (current && line.startsWith('Rss:')) current.rss = Number(/\d+/.exec(line)[0]) / 1024;
  }
  const byName = {};
  for (const m of out) byName[m.name] = (byName[m.name] ?? 0) + m.rss;
  return Object.entries(byName)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([name, rss]) => `${name}: ${rss.toFixed(1)}`);
}
