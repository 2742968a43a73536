// Passwords as Mosquitto's dynamic-security plugin keeps them: PBKDF2-HMAC-SHA512 with a 12-byte random salt,
// a 64-byte digest, `password` and `salt` base64 in the JSON file next to `iterations` (101 in 2.0).

import { pbkdf2, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { DEFAULT_ITERATIONS, DIGEST_BYTES, SALT_BYTES } from '../auth/password-hash.js';

export interface DynsecPassword {
  readonly hash: Buffer;
  readonly salt: Buffer;
  readonly iterations: number;
}

/** A fresh hash for a new password (createClient, setClientPassword, modifyClient). */
export function hashPassword(password: string): DynsecPassword {
  const salt = randomBytes(SALT_BYTES);
  const hash = pbkdf2Sync(password, salt, DEFAULT_ITERATIONS, DIGEST_BYTES, 'sha512');
  return { hash, salt, iterations: DEFAULT_ITERATIONS };
}

/** Constant-time check of a CONNECT password; asynchronous, as a file may ask for many iterations. */
export function verifyPassword(stored: DynsecPassword, password: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    pbkdf2(password, stored.salt, stored.iterations, DIGEST_BYTES, 'sha512', (err, digest) => {
      resolve(err === null && timingSafeEqual(digest, stored.hash));
    });
  });
}

/** Mosquitto decodes with OpenSSL's base64 BIO and requires the exact lengths; anything else is unusable. */
export function decodeStored(
  password: unknown,
  salt: unknown,
  iterations: unknown,
): DynsecPassword | undefined {
  if (typeof password !== 'string' || typeof salt !== 'string' || typeof iterations !== 'number')
    return undefined;
  const hash = Buffer.from(password, 'base64');
  const saltBytes = Buffer.from(salt, 'base64');
  if (hash.length !== DIGEST_BYTES || saltBytes.length !== SALT_BYTES) return undefined;
  return { hash, salt: saltBytes, iterations: Math.trunc(iterations) };
}
