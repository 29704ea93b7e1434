/**
 * glibc's malloc tunables for a proxy that streams: read by glibc once, at process start, from the environment.
 *
 * Node reads sockets into 64 KiB buffers allocated from glibc's heap. With glibc's defaults, the heap's top is
 * given back to the kernel (trimmed) whenever more than 128 KiB of it is free, which happens after every
 * young-generation GC frees those buffers; the next reads then touch fresh pages, one minor page fault each.
 * On 100 KB answers that was 5–12 faults and ~200 µs of kernel time per request. Keeping up to 256 MiB free at
 * the top (never touched again, so never resident unless used) and growing the heap 64 MiB at a time removes
 * that storm. Memory that was never used stays unmapped from RSS; memory once used stays mapped until freed
 * memory at the top exceeds the threshold.
 *
 * Opt-in since Node 24: `SCOPEGATE_MALLOC_TUNING=on` sets them (bin/scopegate.js re-executes `serve` with them, the
 * cluster primary gives them to its workers); a variable already set is never overridden. Measured again on Node 24
 * with the young generation capped (v8-young-generation.ts), the storm is gone without them: minor faults per
 * request and CPU the same with and without, on small and on 100 KB answers, and the RSS they keep is the cost
 * (docs/performance.md, "The glibc heap setting"). Where it still pays (Node 20–22 streaming large answers: faults
 * per request, `npm run bench -- --heap-ab`), turn it on. musl and other libcs ignore these variables.
 */
export const GLIBC_HEAP_ENV: Readonly<Record<string, string>> = {
  MALLOC_TRIM_THRESHOLD_: String(256 * 1024 * 1024),
  MALLOC_TOP_PAD_: String(64 * 1024 * 1024),
};

/** The variables of GLIBC_HEAP_ENV that `env` does not set yet; none unless `SCOPEGATE_MALLOC_TUNING=on`. */
export function missingGlibcHeapEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  if (env.SCOPEGATE_MALLOC_TUNING !== 'on') return {};
  return Object.fromEntries(Object.entries(GLIBC_HEAP_ENV).filter(([name]) => env[name] === undefined));
}
