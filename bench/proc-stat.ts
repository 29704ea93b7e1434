import { readFileSync, readdirSync } from 'node:fs';

/** What the kernel counted for a process and its live children so far (Linux /proc). */
export interface ProcessCounters {
  /** User + system CPU, in ms. */
  readonly cpuMs: number;
  /** Minor page faults: a page touched for the first time (e.g. heap grown again after glibc trimmed it). */
  readonly minorFaults: number;
  /** Resident set size of the process and its children, in MiB (a snapshot, not a counter). */
  readonly rssMiB: number;
}

const TICKS_PER_MS = 100 / 1000; // USER_HZ is 100 on every Linux we run on.
const PAGE_MIB = 4096 / (1024 * 1024);

/**
 * Counters of `pid` and its direct children (cluster workers, nginx's worker), summed; `undefined` where /proc
 * is not available. CPU and faults per request stay meaningful when other processes share the cores.
 */
export function readProcessTree(pid: number): ProcessCounters | undefined {
  try {
    let cpuMs = 0;
    let minorFaults = 0;
    let rssMiB = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (!stat || (Number(entry) !== pid && stat.ppid !== pid)) continue;
      cpuMs += (stat.utime + stat.stime) / TICKS_PER_MS;
      minorFaults += stat.minflt;
      rssMiB += stat.rssPages * PAGE_MIB;
    }
    return { cpuMs, minorFaults, rssMiB };
  } catch {
    return undefined;
  }
}

function readStat(pid: number): { ppid: number; minflt: number; utime: number; stime: number; rssPages: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // proc(5): the command name (field 2) may hold spaces and parentheses, so count from after its last ')':
  // fields[0] is field 3 (state), ppid is 4, minflt 10, utime 14, stime 15, rss 24.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number) => Number(fields[n - 3]);
  return { ppid: field(4), minflt: field(10), utime: field(14), stime: field(15), rssPages: field(24) };
}
