/**
 * Gives a decoded body's memory back at once, when the enforcer is done with it, instead of at the next full GC.
 *
 * A decompressed write body (a 2,000-series remote write is ~0.5 MB) lives outside V8's heap, and V8 starts a
 * full mark-compact of the whole heap each time such external memory has grown by a few dozen MB since the last
 * one: every ~40–100 writes, at a cost that grows with the gateway's heap, not with the request (measured in
 * docs/performance-ingest.md). Detaching the buffer's `ArrayBuffer` (`transfer(0)`, ES2024) frees its backing
 * store now and tells V8 so; the buffer and every view of it then read as empty.
 *
 * Only for a buffer nobody else holds: the caller's own decoded copy, never a body that is forwarded, and never
 * a slice of a shared pool (it must span its whole `ArrayBuffer`, so Node's 8 KiB allocation pool is never
 * touched). Anything else, or a runtime without `transfer`, is left to the GC.
 */
export function releaseBuffer(buffer: Uint8Array, unlessSharedWith?: Uint8Array): void {
  const memory = buffer.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer; readonly detached?: boolean };
  if (buffer.byteOffset !== 0 || memory.byteLength !== buffer.byteLength || buffer.byteLength === 0) return;
  if (unlessSharedWith !== undefined && unlessSharedWith.buffer === memory) return;
  if (typeof memory.transfer !== 'function' || memory.detached === true) return;
  if (typeof SharedArrayBuffer !== 'undefined' && (memory as unknown) instanceof SharedArrayBuffer) return;
  memory.transfer(0);
}
