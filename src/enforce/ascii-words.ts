/**
 * Whether spans of one buffer hold only ASCII bytes (each below 0x80), read four bytes per load through an aligned
 * `Int32Array` view of the same memory (no copy): a quarter of the loads of a byte loop. For the write enforcers,
 * which check whole runs of label fields at once: tags and one-byte lengths are ASCII too, so a run that is all
 * ASCII holds only well-formed UTF-8 strings, and any other run is checked string by string (utf8.ts).
 */
export class AsciiWords {
  private readonly words: Int32Array;
  /** The first index of `bytes` whose address is a multiple of 4: word `w` holds `bytes[first + 4w, first + 4w + 4)`. */
  private readonly first: number;

  constructor(private readonly bytes: Uint8Array) {
    this.first = (4 - (bytes.byteOffset & 3)) & 3;
    this.words =
      bytes.length < this.first + 4
        ? new Int32Array(0)
        : new Int32Array(bytes.buffer, bytes.byteOffset + this.first, (bytes.length - this.first) >>> 2);
  }

  /** Whether every byte of `bytes[start, end)` is below 0x80 (an empty span is). */
  isAscii(start: number, end: number): boolean {
    const bytes = this.bytes;
    let i = start;
    while (i < end && ((i - this.first) & 3) !== 0) {
      if ((bytes[i] as number) >= 0x80) return false;
      i++;
    }
    const words = this.words;
    let w = (i - this.first) >> 2;
    let bits = 0;
    for (; i + 4 <= end; i += 4) bits |= words[w++] as number;
    if ((bits & 0x80808080) !== 0) return false;
    for (; i < end; i++) if ((bytes[i] as number) >= 0x80) return false;
    return true;
  }
}
