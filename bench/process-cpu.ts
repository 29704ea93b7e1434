import { readFileSync, readdirSync } from 'node:fs';

/**
 * CPU time (user + system, in ms) used so far by a process and its live children, from /proc (Linux).
 * `undefined` where /proc is not available. Used to report CPU per request, which stays meaningful when the
 * load generator, upstream and gateway share a few cores.
 */
export function processTreeCpuMs(pid: number): number | undefined {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on every Linux we run on.
  try {
    let total = 0;
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const stat = readStat(Number(entry));
      if (stat && (Number(entry) === pid || stat.ppid === pid)) total += (stat.utime + stat.stime) / ticksPerMs;
    }
    return total;
  } catch {
    return undefined;
  }
}

function readStat(pid: number): { ppid: number; utime: number; stime: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(fields[1]), utime: Number(fields[11]), stime: Number(fields[12]) };
}
