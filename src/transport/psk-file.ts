// Mosquitto's psk_file: one "identity:hexkey" per line; the keys TLS-PSK clients must prove they hold.

import { readFileSync } from 'node:fs';

export class PskFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    why: string,
  ) {
    super(line > 0 ? `psk_file "${file}" line ${line}: ${why}` : `Unable to load psk_file "${file}": ${why}`);
    this.name = 'PskFileError';
  }
}

/** Longest key Mosquitto accepts (bytes); longer ones would be refused by its OpenSSL callback. */
const MAX_KEY_BYTES = 256;

export class PskTable {
  private constructor(private readonly keys: ReadonlyMap<string, Buffer>) {}

  static readonly empty = new PskTable(new Map());

  static parse(text: string, file = '<psk>'): PskTable {
    const keys = new Map<string, Buffer>();
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!.trim();
      if (line === '' || line.startsWith('#')) continue;
      // Identities may not contain ':', so the last colon splits even when a key is oddly formatted.
      const colon = line.lastIndexOf(':');
      if (colon <= 0) throw new PskFileError(file, i + 1, 'expected "identity:hexkey"');
      const identity = line.slice(0, colon);
      const hex = line.slice(colon + 1).trim();
      if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex))
        throw new PskFileError(file, i + 1, 'the key must be hexadecimal digits');
      const key = Buffer.from(hex, 'hex');
      if (key.length > MAX_KEY_BYTES)
        throw new PskFileError(file, i + 1, `the key is longer than ${MAX_KEY_BYTES} bytes`);
      keys.set(identity, key);
    }
    return new PskTable(keys);
  }

  static load(file: string): PskTable {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new PskFileError(file, 0, (err as NodeJS.ErrnoException).code ?? String(err));
    }
    return PskTable.parse(text, file);
  }

  get size(): number {
    return this.keys.size;
  }

  key(identity: string): Buffer | undefined {
    return this.keys.get(identity);
  }
}

/** A replaceable PSK table: TLS servers keep the holder, SIGHUP swaps what it holds. */
export class PskSource {
  constructor(public table: PskTable = PskTable.empty) {}

  key(identity: string): Buffer | undefined {
    return this.table.key(identity);
  }
}
