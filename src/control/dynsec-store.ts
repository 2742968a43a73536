// The dynamic-security JSON file: loaded once at start, rewritten after every change the way the plugin does
// it (the whole document to `FILE.new`, then renamed over `FILE`, so a crash never leaves half a file).

import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import type { LogLevel } from '../broker/logger.js';
import { printFormatted } from './cjson.js';
import { decodeDocument, encodeDocument } from './dynsec-codec.js';
import { initialDocument } from './dynsec-init.js';
import { DynsecData } from './dynsec-model.js';

type Log = (level: LogLevel, message: string) => void;

/**
 * Mosquitto 2.0.11 logs an unreadable or invalid file and runs with an empty configuration; a missing file is
 * first generated when 2.1's initial password is given (see dynsec-init.ts). Throws DynsecInitError when that
 * generation fails, so the broker does not start.
 */
export function loadDynsecFile(path: string, log: Log, passwordInitFile?: string): DynsecData {
  if (!existsSync(path)) {
    const initial = initialDocument(passwordInitFile, log);
    if (initial !== undefined) {
      writeFileSync(path, printFormatted(initial), { mode: 0o600 });
      return decodeDocument(initial);
    }
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    log('error', 'Error loading Dynamic security plugin config: File is not readable - check permissions.');
    return new DynsecData();
  }
  if (text.length === 0) return new DynsecData();
  let tree: unknown;
  try {
    tree = JSON.parse(text);
  } catch {
    log('error', 'Error loading Dynamic security plugin config: File is not valid JSON.');
    return new DynsecData();
  }
  return decodeDocument(tree as Parameters<typeof decodeDocument>[0]);
}

export function saveDynsecFile(path: string, data: DynsecData, log: Log): void {
  const temp = `${path}.new`;
  // The replacement keeps the file's permissions (Mosquitto 2.0.11 rewrites the file in place, which keeps them).
  let mode = 0o600;
  try {
    mode = statSync(path).mode & 0o7777;
  } catch {
    // A first save: owner-only, the file holds password hashes.
  }
  try {
    writeFileSync(temp, printFormatted(encodeDocument(data)), { mode });
    chmodSync(temp, mode);
  } catch {
    log('error', 'Error saving Dynamic security plugin config: File is not writable - check permissions.');
    return;
  }
  try {
    renameSync(temp, path);
  } catch (err) {
    log('error', `Error updating dynsec config file: ${(err as Error).message}`);
  }
}
