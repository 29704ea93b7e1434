import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

type SourceData = string | ArrayBuffer | ArrayBufferView;

function toBuffer(data: SourceData): Buffer | string {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * SHA-256 / HMAC-SHA256 on node:crypto in the shape the smithy signer expects (`new Sha256(secret?)`, `update`,
 * `digest`), as @smithy/hash-node does. Remote-write bodies are hashed on every request: OpenSSL, not the
 * pure-JS @aws-crypto/sha256-js, belongs on that hot path.
 */
export class NodeSha256 {
  private readonly secret: SourceData | undefined;
  private hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.secret = secret;
    this.hash = NodeSha256.createDigest(secret);
  }

  private static createDigest(secret: SourceData | undefined): Hash | Hmac {
    return secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }

  update(data: SourceData): void {
    this.hash.update(toBuffer(data));
  }

  digest(): Promise<Uint8Array> {
    return Promise.resolve(new Uint8Array(this.hash.digest()));
  }

  reset(): void {
    this.hash = NodeSha256.createDigest(this.secret);
  }
}

/** Hex SHA-256 of a body, the value of `x-amz-content-sha256`. */
export function hashPayloadHex(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}
