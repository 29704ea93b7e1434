/**
 * The cap on V8's young generation that `scopegate serve` runs with: `--max-semi-space-size=8` (MiB per
 * semi-space), a V8 flag read once, when the process starts.
 *
 * Under load Node 24 grows each semi-space to 64 MiB, within tens of seconds. That space is resident (RSS 270–350
 * MiB on small GETs instead of ~220), and its scavenges are rare but long: 35–165 ms at the longest on the
 * 2-core bench machine, where V8's parallel scavenge helpers share the proxy's one core with everything else,
 * against 6–18 ms with the cap. On 100 KB answers the cap also keeps the read buffers dying young: a third as
 * many mark-compacts (4–9 instead of 14–18 per 6 s). 16 MiB was measured too: on 100 KB it scavenged too rarely
 * (mark-compacts as without a cap, 1–3 page faults per request without the glibc setting, 0.72–0.76× the
 * uncapped req/s). The price: 2–4× as many scavenges on small GETs, within the machine's noise in CPU per
 * request (docs/performance.md, "The read path: where the tail comes from").
 *
 * A cap the operator set (node's arguments or NODE_OPTIONS, e.g. `NODE_OPTIONS=--max-semi-space-size=64`) is
 * kept. bin/scopegate.js re-executes `serve` with it (keep the two in step); the cluster primary gives it to
 * its workers.
 */
export const SEMI_SPACE_FLAG = '--max-semi-space-size=8';

const SEMI_SPACE_OPTION = /^--max[-_]semi[-_]space[-_]size(=|$)/;

/** The node flags to add for the young-generation cap: none when `execArgv` or NODE_OPTIONS already set one. */
export function missingYoungGenerationArgs(execArgv: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const given = [...execArgv, ...(env.NODE_OPTIONS ?? '').split(/\s+/)];
  return given.some((arg) => SEMI_SPACE_OPTION.test(arg)) ? [] : [SEMI_SPACE_FLAG];
}
