// Mosquitto's password file (`username:hash` lines): loading as the broker does, and constant-time verification.

import { timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AuthFileError } from './auth-file-error.js';
import {
  computeDigest,
  DEFAULT_HASH_KIND,
  DEFAULT_ITERATIONS,
  DIGEST_BYTES,
  type PasswordHash,
  parsePasswordHash,
  SALT_BYTES,
} from './password-hash.js';

export type { HashKind } from './password-hash.js';
export { hashPassword } from './password-hash.js';

const MAX_FIELD_CHARS = 65535;

/** Stand-in hashed for unknown users so that a miss costs about as much as a hit. */
const DECOY: PasswordHash = {
  kind: DEFAULT_HASH_KIND,
  iterations: DEFAULT_ITERATIONS,
  salt: Buffer.alloc(SALT_BYTES, 0x5a),
  digest: Buffer.alloc(DIGEST_BYTES),
};

/** Trim spaces, tabs and line ends as Mosquitto's misc__trimblanks() does. */
function trimBlanks(text: string): string {
  return text.replace(/^[ \t\r\n\v\f]+|[ \t\r\n\v\f]+$/g, '');
}

/** MQTT passwords are binary, but Mosquitto hashes them as C strings: everything after a NUL is ignored. */
function asCString(password: Buffer | string): Buffer {
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const nul = bytes.indexOf(0);
  return nul === -1 ? bytes : bytes.subarray(0, nul);
}

/** A password-file line the broker skips, with the line Mosquitto 2.0.11 logs for it. */
export class PasswordFileWarning extends AuthFileError {
  constructor(
    file: string,
    line: number,
    /** Mosquitto logs unreadable lines as notices, unusable hashes as errors (after all the notices). */
    readonly level: 'notice' | 'error',
    /** The log line, word for word as Mosquitto writes it. */
    readonly logLine: string,
  ) {
    super(file, line, logLine);
  }
}

export class PasswordFile {
  readonly #users: Map<string, PasswordHash>;
  /** Lines the broker would skip with a warning (bad hash, missing password, …); the rest still loads. */
  readonly warnings: readonly PasswordFileWarning[];

  private constructor(users: Map<string, PasswordHash>, warnings: PasswordFileWarning[]) {
    this.#users = users;
    this.warnings = warnings;
  }

  /** Read and parse a password file; throws AuthFileError when it cannot be read. */
  static load(path: string): PasswordFile {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new AuthFileError(path, 0, `Unable to open pwfile: ${(err as Error).message}`);
    }
    return PasswordFile.parse(text, path);
  }

  /**
   * Parse password-file text with the broker's leniency: `#` lines and lines without ':' are ignored,
   * fields are trimmed, and entries with unusable hashes are dropped (recorded in `warnings`, in the order
   * Mosquitto logs them: first the lines it cannot read, then the hashes it cannot use).
   * A later valid entry for the same user replaces an earlier one.
   */
  static parse(text: string, fileName: string): PasswordFile {
    const users = new Map<string, PasswordHash>();
    const unreadable: PasswordFileWarning[] = [];
    const unusable: PasswordFileWarning[] = [];
    const lines = text.split('\n');
    for (const [index, line] of lines.entries()) {
      // Mosquitto reads lines with fgets(): each but the last keeps its newline, which matters to strtok().
      const raw = index < lines.length - 1 ? `${line}\n` : line;
      const problem = PasswordFile.#parseLine(raw, fileName, users);
      if (problem === undefined) continue;
      const warning = new PasswordFileWarning(fileName, index + 1, problem.level, problem.message);
      (problem.level === 'notice' ? unreadable : unusable).push(warning);
    }
    return new PasswordFile(users, [...unreadable, ...unusable]);
  }

  /** Add one line's entry to `users`; returns what Mosquitto logs when it skips the line. */
  static #parseLine(
    raw: string,
    file: string,
    users: Map<string, PasswordHash>,
  ): { level: 'notice' | 'error'; message: string } | undefined {
    if (raw.startsWith('#') || !raw.includes(':')) return undefined;
    // strtok(':') semantics: empty fields vanish, only the first two tokens count.
    const tokens = raw.split(':').filter((t) => t.length > 0);
    const first = tokens[0] ?? '';
    const username = trimBlanks(first);
    if (username.length > MAX_FIELD_CHARS) {
      return {
        level: 'notice',
        message: `Warning: Invalid line in password file '${file}', username too long.`,
      };
    }
    const passwordField = tokens[1];
    if (passwordField === undefined) {
      // Mosquitto prints its line buffer, which strtok() and the trimming have cut after the user name.
      const end = raw.indexOf(first) + first.search(/[ \t\r\n\v\f]*$/);
      return {
        level: 'notice',
        message: `Warning: Invalid line in password file '${file}': ${raw.slice(0, end)}`,
      };
    }
    const hashText = trimBlanks(passwordField);
    if (hashText.length > MAX_FIELD_CHARS) {
      return {
        level: 'notice',
        message: `Warning: Invalid line in password file '${file}', password too long.`,
      };
    }
    const parsed = parsePasswordHash(hashText);
    if (typeof parsed === 'string') {
      const reason = parsed.charAt(0).toUpperCase() + parsed.slice(1);
      return { level: 'error', message: `Error: ${reason} for user ${username}, removing entry.` };
    }
    users.set(username, parsed);
    return undefined;
  }

  has(username: string): boolean {
    return this.#users.has(username);
  }

  /** Usernames in the file, in insertion order. */
  usernames(): string[] {
    return [...this.#users.keys()];
  }

  /**
   * Check a password without blocking the event loop. Unknown users still pay for a default-cost hash
   * so response time does not reveal which usernames exist.
   */
  async verify(username: string, password: Buffer | string): Promise<boolean> {
    const entry = this.#users.get(username);
    const target = entry ?? DECOY;
    const digest = await computeDigest(
      asCString(password),
      target.kind,
      target.iterations,
      target.salt,
      target.argon2,
      target.digest.length,
    );
    const same = digest.length === target.digest.length && timingSafeEqual(digest, target.digest);
    return entry !== undefined && same;
  }
}
