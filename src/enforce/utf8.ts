/**
 * UTF-8 as Go reads it for the upstreams: invalid bytes are an error (`fatal`, never U+FFFD replacement), and a
 * leading byte-order mark is part of the text (`ignoreBOM`: TextDecoder would otherwise drop it, so a label
 * value checked as "team-a" could be stored as "\uFEFFteam-a").
 */
export const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Whether `bytes[start, end)` is well-formed UTF-8, exactly as `STRICT_UTF8` decides (WHATWG UTF-8 decode, fatal:
 * no overlong forms, no surrogates U+D800–U+DFFF, nothing above U+10FFFF, no truncated sequence), without making
 * a string or a view. For the write enforcers, which validate every label but decode only the few they must.
 */
export function isWellFormedUtf8(bytes: Uint8Array, start: number, end: number): boolean {
  let i = start;
  while (i < end) {
    // Labels are mostly ASCII: four bytes per test where possible.
    while (
      i + 4 <= end &&
      (((bytes[i] as number) | (bytes[i + 1] as number) | (bytes[i + 2] as number) | (bytes[i + 3] as number)) & 0x80) === 0
    )
      i += 4;
    if (i >= end) break;
    const b = bytes[i] as number;
    if (b < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lower = 0x80;
    let upper = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lower = 0xa0;
      else if (b === 0xed) upper = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lower = 0x90;
      else if (b === 0xf4) upper = 0x8f;
    } else return false;
    if (i + need >= end) return false;
    const second = bytes[i + 1] as number;
    if (second < lower || second > upper) return false;
    for (let k = 2; k <= need; k++) {
      const next = bytes[i + k] as number;
      if (next < 0x80 || next > 0xbf) return false;
    }
    i += need + 1;
  }
  return true;
}
