// `http_api_token_file` (Culex-only): bearer tokens of the HTTP API, one per line as `TOKEN ROLE NAME?`, where
// TOKEN is the token itself (at least 16 characters of RFC 6750's b64token set) or `sha256:` and its SHA-256 in hex (so the file need not
// hold the secret), ROLE is `read` or `admin`, and NAME (optional) names the holder in log lines. `#` starts a
// comment line. The file is read when the listener opens and again whenever it changes on disk (checked at
// most once a second, at a request); a bad new file is logged and the previous tokens stay.

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

export type ApiRole = 'read' | 'admin';

export interface TokenHolder {
  readonly role: ApiRole;
  /** NAME of the line, or `line N` (its line number) when the line gives none. */
  readonly name: string;
}

interface TokenEntry extends TokenHolder {
  readonly digest: Buffer;
}

export const MIN_TOKEN_LENGTH = 16;
/** Lines read from one file: a bound on the work of each check (every entry is compared). */
export const MAX_TOKENS = 1000;
const RECHECK_MS = 1000;
/** What an `Authorization: Bearer` header can carry (RFC 6750's b64token). */
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Parses the file's text; throws with the line number for a bad line. */
export function parseTokens(text: string): TokenEntry[] {
  const entries: TokenEntry[] = [];
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const where = `line ${i + 1}`;
    const [token = '', role = '', name, extra] = line.split(/\s+/);
    if (extra !== undefined) throw new Error(`${where}: expected "TOKEN ROLE [NAME]"`);
    if (role !== 'read' && role !== 'admin') throw new Error(`${where}: the role must be read or admin`);
    let digest: Buffer;
    if (token.startsWith('sha256:')) {
      const hex = token.slice('sha256:'.length);
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new Error(`${where}: sha256: needs 64 hexadecimal digits`);
      digest = Buffer.from(hex, 'hex');
    } else if (token.length < MIN_TOKEN_LENGTH) {
      throw new Error(`${where}: a token needs at least ${MIN_TOKEN_LENGTH} characters`);
    } else if (!TOKEN68.test(token)) {
      throw new Error(`${where}: a token may hold only letters, digits and - . _ ~ + / (then = at the end)`);
    } else digest = sha256(token);
    if (entries.length >= MAX_TOKENS) throw new Error(`more than ${MAX_TOKENS} tokens`);
    entries.push({ digest, role, name: name ?? `line ${i + 1}` });
  }
  return entries;
}

export class TokenFile {
  private entries: TokenEntry[];
  private stamp: string;
  private checkedAt = 0;

  /** Reads the file now; throws (with the path) when it cannot be read or has a bad line. */
  constructor(
    readonly path: string,
    private readonly onError: (message: string) => void,
  ) {
    try {
      this.stamp = this.statStamp();
    } catch (err) {
      throw new Error(`Unable to open http_api_token_file ${path}: ${describe(err)}`);
    }
    this.entries = this.read();
  }

  get size(): number {
    return this.entries.length;
  }

  /**
   * The holder of `token`, if any. The presented token is hashed and compared with every entry in constant
   * time (no early exit), so neither the comparison nor the position of a match shows in the timing.
   */
  verify(token: string, now: number): TokenHolder | undefined {
    this.refresh(now);
    const digest = sha256(token);
    let found: TokenEntry | undefined;
    for (const entry of this.entries) {
      if (timingSafeEqual(entry.digest, digest) && found === undefined) found = entry;
    }
    return found === undefined ? undefined : { role: found.role, name: found.name };
  }

  private refresh(now: number): void {
    if (now - this.checkedAt < RECHECK_MS) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      stamp = this.statStamp();
    } catch (err) {
      this.onError(
        `Error: unable to read http_api_token_file ${this.path}: ${describe(err)}; keeping the tokens read before.`,
      );
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    try {
      this.entries = this.read();
    } catch (err) {
      this.onError(`Error: ${describe(err)}; keeping the tokens read before.`);
    }
  }

  private statStamp(): string {
    const s = statSync(this.path);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  }

  private read(): TokenEntry[] {
    try {
      return parseTokens(readFileSync(this.path, 'utf8'));
    } catch (err) {
      throw new Error(`http_api_token_file ${this.path}: ${describe(err)}`);
    }
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
