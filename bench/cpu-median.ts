/** CPU time of this process (user + system), µs. */
function cpuMicros(): number {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
}

/**
 * Runs every function for ~`millisPerRound` per round, `rounds` times, interleaved (after `warmup` calls each: JIT,
 * inline caches); returns each one's median over rounds of CPU µs per call (the median: on a shared machine a
 * round can lose its core to a neighbour).
 */
export function medianCpuMicros(runs: readonly (() => void)[], rounds: number, millisPerRound: number, warmup: number): number[] {
  const perRound: number[][] = runs.map(() => []);
  for (const run of runs) for (let i = 0; i < warmup; i++) run();
  for (let round = 0; round < rounds; round++) {
    runs.forEach((run, index) => {
      const start = cpuMicros();
      const deadline = performance.now() + millisPerRound;
      let n = 0;
      while (performance.now() < deadline) {
        run();
        n++;
      }
      perRound[index]?.push((cpuMicros() - start) / n);
    });
  }
  return perRound.map(median);
}

/** The median of rounds (the upper one of an even count: a measured round, not a mean of two); NaN when none. */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
}
