import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { releaseBuffer } from './release-buffer.js';

describe('releaseBuffer', () => {
  it('detaches a buffer that spans its whole ArrayBuffer: its memory is given back, it reads as empty', () => {
    const buffer = Buffer.allocUnsafeSlow(64 * 1024).fill(1);
    const memory = buffer.buffer;
    releaseBuffer(buffer);
    assert.equal(memory.byteLength, 0);
    assert.equal(buffer.length, 0);
  });

  it('leaves a slice of Node’s allocation pool, a part of a buffer, and a buffer shared with another alone', () => {
    const pooled = Buffer.from('small, from the pool');
    const neighbour = Buffer.from('another one from the pool');
    releaseBuffer(pooled);
    assert.equal(pooled.toString(), 'small, from the pool');
    assert.equal(neighbour.toString(), 'another one from the pool');
    const whole = Buffer.alloc(16 * 1024, 2);
    releaseBuffer(whole.subarray(0, 100));
    releaseBuffer(whole.subarray(100));
    assert.equal(whole.length, 16 * 1024);
    releaseBuffer(whole, whole.subarray(5));
    assert.equal(whole.length, 16 * 1024);
    releaseBuffer(Buffer.alloc(0));
  });

  it('may be called twice', () => {
    const buffer = Buffer.allocUnsafeSlow(8192);
    releaseBuffer(buffer);
    releaseBuffer(buffer);
    assert.equal(buffer.length, 0);
  });
});
