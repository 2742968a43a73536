// Mosquitto password hashes: `$6$salt$hash` (one SHA-512 over password then salt),
// `$7$iterations$salt$hash` (PBKDF2-HMAC-SHA512), base64-encoded with 64-byte digests, and Mosquitto 2.1's
// `$argon2id$…` (argon2-hash.ts). 2.0 writes and reads 12-byte salts; 2.1 writes 64-byte ones and reads both.

import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import {
  ARGON2_HASH_BYTES,
  ARGON2_SALT_BYTES,
  type Argon2Params,
  argon2idDigest,
  formatArgon2id,
  MOSQUITTO_21_ARGON2,
  parseArgon2id,
} from './argon2-hash.js';

export type HashKind = 'sha512' | 'sha512-pbkdf2' | 'argon2id';

/** Mosquitto 2.0's defaults, checked against `mosquitto_passwd` 2.0.11 output. */
export const DEFAULT_HASH_KIND: HashKind = 'sha512-pbkdf2';
export const DEFAULT_ITERATIONS = 101;
export const SALT_BYTES = 12;
/** Mosquitto 2.1 writes salts of EVP_MAX_MD_SIZE bytes and reads 12 or 64 (libcommon password_common.c). */
export const SALT_BYTES_21 = 64;
export const DIGEST_BYTES = 64;

/** A decoded password hash as stored in a password file. */
export interface PasswordHash {
  readonly kind: HashKind;
  /** PBKDF2 rounds; 1 for plain SHA-512 (unused there). */
  readonly iterations: number;
  readonly salt: Buffer;
  readonly digest: Buffer;
  /** Argon2id cost parameters (kind `argon2id` only). */
  readonly argon2?: Argon2Params;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 decode: Node's decoder silently skips junk, Mosquitto's rejects it. */
function decodeBase64(text: string): Buffer | undefined {
  return BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/**
 * Parse the hash part of a password-file line. Returns a reason string when it is unusable,
 * mirroring the checks Mosquitto makes before it drops an entry.
 */
export function parsePasswordHash(text: string): PasswordHash | string {
  if (text.startsWith('$argon2id$')) {
    const a = parseArgon2id(text);
    if (typeof a === 'string') return a;
    return { kind: 'argon2id', iterations: a.time, salt: a.salt, digest: a.digest, argon2: a };
  }
  // Mosquitto tokenises with strtok(), which collapses empty fields: mimic that.
  const fields = text.split('$').filter((f) => f.length > 0);
  const type = fields.shift();
  if (type === undefined) return 'invalid password hash';
  let kind: HashKind;
  let iterations = 1;
  if (type === '6') {
    kind = 'sha512';
  } else if (type === '7') {
    kind = 'sha512-pbkdf2';
    const rounds = fields.shift();
    if (rounds === undefined) return 'invalid password hash';
    iterations = Number.parseInt(rounds, 10);
    if (!Number.isSafeInteger(iterations) || iterations < 1) return 'invalid hash iterations';
  } else {
    return 'invalid password hash type';
  }
  const saltText = fields.shift();
  const digestText = fields.shift();
  if (saltText === undefined || digestText === undefined) return 'invalid password hash';
  const salt = decodeBase64(saltText);
  if (salt === undefined || (salt.length !== SALT_BYTES && salt.length !== SALT_BYTES_21)) {
    return 'unable to decode password salt';
  }
  const digest = decodeBase64(digestText);
  if (digest === undefined || digest.length !== DIGEST_BYTES) return 'unable to decode password';
  return { kind, iterations, salt, digest };
}

/** Render a hash the way `mosquitto_passwd` writes it. */
function formatPasswordHash(hash: PasswordHash): string {
  if (hash.kind === 'argon2id') {
    return formatArgon2id({ ...(hash.argon2 ?? MOSQUITTO_21_ARGON2), salt: hash.salt, digest: hash.digest });
  }
  const salt = hash.salt.toString('base64');
  const digest = hash.digest.toString('base64');
  return hash.kind === 'sha512-pbkdf2' ? `$7$${hash.iterations}$${salt}$${digest}` : `$6$${salt}$${digest}`;
}

/** Compute the digest for `password` with the given parameters; PBKDF2 runs on the libuv threadpool. */
export function computeDigest(
  password: Buffer,
  kind: HashKind,
  iterations: number,
  salt: Buffer,
  argon2: Argon2Params = MOSQUITTO_21_ARGON2,
  digestBytes: number = DIGEST_BYTES,
): Promise<Buffer> {
  if (kind === 'argon2id') return argon2idDigest(password, argon2, salt, digestBytes);
  if (kind === 'sha512') {
    // A single SHA-512 over a short input costs microseconds, so the synchronous API is fine here.
    return Promise.resolve(createHash('sha512').update(password).update(salt).digest());
  }
  return new Promise((resolve, reject) => {
    pbkdf2(password, salt, iterations, DIGEST_BYTES, 'sha512', (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/**
 * Hash `password` with a fresh random salt, returning the text of a password-file entry. `$6$` and `$7$` are
 * written as Mosquitto 2.0 writes them (12-byte salt) so that 2.0 brokers can still read the file; `argon2id`
 * as Mosquitto 2.1 writes it (m=47104, t=1, p=1, 64-byte salt and hash), which only 2.1 and Culex read.
 */
export async function hashPassword(
  password: string,
  kind: HashKind = DEFAULT_HASH_KIND,
  iterations: number = DEFAULT_ITERATIONS,
): Promise<string> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new RangeError('Number of iterations must be > 0.');
  }
  if (kind === 'argon2id') {
    const salt = randomBytes(ARGON2_SALT_BYTES);
    const digest = await argon2idDigest(
      Buffer.from(password, 'utf8'),
      MOSQUITTO_21_ARGON2,
      salt,
      ARGON2_HASH_BYTES,
    );
    return formatArgon2id({ ...MOSQUITTO_21_ARGON2, salt, digest });
  }
  const salt = randomBytes(SALT_BYTES);
  const rounds = kind === 'sha512-pbkdf2' ? iterations : 1;
  const digest = await computeDigest(Buffer.from(password, 'utf8'), kind, rounds, salt);
  return formatPasswordHash({ kind, iterations: rounds, salt, digest });
}
