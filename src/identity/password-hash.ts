import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { hash as argon2Hash, parseOptions as parseArgon2Options, verify as argon2Verify } from '@node-rs/argon2';

/**
 * Stored passwords of the users file: bcrypt (`$2a$`, `$2b$`, `$2y$`), argon2 (`$argon2id$`, `$argon2i$`,
 * `$argon2d$`) or plaintext (accepted, warned about at load). Every comparison takes time independent of
 * where the candidate differs: hashes by construction, plaintext by comparing SHA-256 digests with
 * `timingSafeEqual` (which also hides the length).
 */
export type PasswordKind = 'bcrypt' | 'argon2' | 'plaintext';

export interface StoredPassword {
  readonly kind: PasswordKind;
  readonly value: string;
}

const BCRYPT = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;
const ARGON2 = /^\$argon2(id|i|d)\$/;

export function classifyPassword(value: string): StoredPassword {
  if (BCRYPT.test(value)) return { kind: 'bcrypt', value };
  if (ARGON2.test(value)) return { kind: 'argon2', value };
  return { kind: 'plaintext', value };
}

export async function verifyPassword(stored: StoredPassword, candidate: string): Promise<boolean> {
  switch (stored.kind) {
    case 'bcrypt':
      return bcrypt.compare(candidate, stored.value);
    case 'argon2':
      return argon2Verify(stored.value, candidate).catch(() => false);
    case 'plaintext':
      return timingSafeEqual(sha256(stored.value), sha256(candidate));
  }
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/**
 * A stored password nobody knows, with the cost parameters of the file's first hashed password, so checking
 * an unknown user costs what a wrong password for a real user costs (no user enumeration by timing).
 */
export async function createDummyPassword(passwords: readonly StoredPassword[]): Promise<StoredPassword> {
  const secret = randomBytes(32).toString('base64url');
  const template = passwords.find((p) => p.kind !== 'plaintext');
  if (template?.kind === 'bcrypt') {
    const cost = Number(template.value.slice(4, 6));
    return { kind: 'bcrypt', value: await bcrypt.hash(secret, cost) };
  }
  if (template?.kind === 'argon2') {
    const { memoryCost, timeCost, parallelism, algorithm } = parseArgon2Options(template.value);
    return { kind: 'argon2', value: await argon2Hash(secret, { memoryCost, timeCost, parallelism, algorithm }) };
  }
  return { kind: 'plaintext', value: secret };
}
