// Mosquitto 2.1's `$argon2id$` password hashes: libargon2's encoded form, computed on the libuv threadpool.

type Argon2 = typeof import('argon2');

/** Loaded on first use: the native addon costs ~3 MiB of RSS, and most brokers never see an argon2id hash. */
let loading: Promise<Argon2> | undefined;

/** What `mosquitto_passwd` 2.1 uses (MOSQ_ARGON2_T/M/P, salt and hash of EVP_MAX_MD_SIZE = 64 bytes). */
export const ARGON2_TIME = 1;
export const ARGON2_MEMORY_KIB = 47104;
export const ARGON2_PARALLELISM = 1;
export const ARGON2_SALT_BYTES = 64;
export const ARGON2_HASH_BYTES = 64;
const ARGON2_VERSION = 0x13;

/**
 * Bounds on the cost a password file may ask for: the file is the administrator's, but one bad line must
 * not make every CONNECT allocate gigabytes. libargon2's own floor is 8 bytes of salt and 4 of hash.
 */
const MAX_MEMORY_KIB = 1024 * 1024;
const MAX_TIME = 1000;
const MAX_PARALLELISM = 64;
const MAX_SALT_OR_HASH_BYTES = 1024;

export interface Argon2Params {
  readonly version: number;
  readonly memoryKiB: number;
  readonly time: number;
  readonly parallelism: number;
}

export interface Argon2Hash extends Argon2Params {
  readonly salt: Buffer;
  readonly digest: Buffer;
}

const UNPADDED_BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function decode(text: string): Buffer | undefined {
  return UNPADDED_BASE64.test(text) ? Buffer.from(text, 'base64') : undefined;
}

/** Plain integer parameter (no sign, no leading zeros beyond "0"), as libargon2's decoder reads them. */
function readNumber(text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined || !/^(0|[1-9]\d{0,9})$/.test(text)) return undefined;
  const value = Number(text);
  return value >= min && value <= max ? value : undefined;
}

/**
 * Parses `$argon2id$v=19$m=…,t=…,p=…$salt$hash`. libargon2 (Mosquitto 2.1) writes and reads m, t, p in that
 * order; the npm `argon2` package writes m, p, t: both are accepted. Returns a reason when unusable.
 */
export function parseArgon2id(text: string): Argon2Hash | string {
  const fields = text.split('$');
  // ['', 'argon2id', 'v=19', 'm=..,t=..,p=..', salt, hash] or without the version field.
  if (fields[0] !== '' || fields[1] !== 'argon2id') return 'invalid password hash type';
  let next = 2;
  let version = 0x10;
  const versionField = fields[next];
  if (versionField?.startsWith('v=')) {
    const v = readNumber(versionField.slice(2), 0x10, 0x13);
    if (v === undefined || (v !== 0x10 && v !== 0x13)) return 'invalid password hash';
    version = v;
    next++;
  }
  const params = new Map<string, string>();
  for (const pair of (fields[next] ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || params.has(pair.slice(0, eq))) return 'invalid password hash';
    params.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  if (params.size !== 3) return 'invalid password hash';
  const memoryKiB = readNumber(params.get('m'), 8, MAX_MEMORY_KIB);
  const time = readNumber(params.get('t'), 1, MAX_TIME);
  const parallelism = readNumber(params.get('p'), 1, MAX_PARALLELISM);
  if (memoryKiB === undefined || time === undefined || parallelism === undefined) {
    return 'invalid password hash';
  }
  if (memoryKiB < 8 * parallelism) return 'invalid password hash';
  const saltText = fields[next + 1];
  const digestText = fields[next + 2];
  if (saltText === undefined || digestText === undefined || fields.length !== next + 3) {
    return 'invalid password hash';
  }
  const salt = decode(saltText);
  if (salt === undefined || salt.length < 8 || salt.length > MAX_SALT_OR_HASH_BYTES) {
    return 'unable to decode password salt';
  }
  const digest = decode(digestText);
  if (digest === undefined || digest.length < 4 || digest.length > MAX_SALT_OR_HASH_BYTES) {
    return 'unable to decode password';
  }
  return { version, memoryKiB, time, parallelism, salt, digest };
}

/** libargon2's encoding: unpadded base64, parameters in m, t, p order (what Mosquitto 2.1 writes). */
export function formatArgon2id(hash: Argon2Hash): string {
  const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=${hash.version}$m=${hash.memoryKiB},t=${hash.time},p=${hash.parallelism}$${b64(hash.salt)}$${b64(hash.digest)}`;
}

/** The raw Argon2id tag of `password` with these parameters; runs on the threadpool, not the event loop. */
export async function argon2idDigest(
  password: Buffer,
  params: Argon2Params,
  salt: Buffer,
  length: number,
): Promise<Buffer> {
  loading ??= import('argon2');
  const argon2 = await loading;
  return argon2.hash(password, {
    type: argon2.argon2id,
    memoryCost: params.memoryKiB,
    timeCost: params.time,
    parallelism: params.parallelism,
    version: params.version,
    hashLength: length,
    salt,
    raw: true,
  });
}

export const MOSQUITTO_21_ARGON2: Argon2Params = {
  version: ARGON2_VERSION,
  memoryKiB: ARGON2_MEMORY_KIB,
  time: ARGON2_TIME,
  parallelism: ARGON2_PARALLELISM,
};
