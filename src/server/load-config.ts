// Reading a mosquitto.conf for an embedder: the same parser as the `culex` command, and a memory of where a
// configuration came from so that a reload can read the same file again.

import type { CulexConfig } from '../config/config.js';
import { parseConfigFile, parseConfigText } from '../config/parse.js';

const sources = new WeakMap<CulexConfig, () => CulexConfig>();

/**
 * Reads a mosquitto.conf (and the include_dir files it names). Throws ConfigError (with file and line) for a
 * file that cannot be read or holds a bad option.
 */
// Async so that a future reader (include_dir over many files) can be non-blocking without an API change.
export async function loadConfig(path: string): Promise<CulexConfig> {
  const config = parseConfigFile(path);
  sources.set(config, () => parseConfigFile(path));
  return config;
}

/** Parses configuration text; `fileName` names it in error messages. Throws ConfigError. */
export function parseConfig(text: string, fileName = 'mosquitto.conf'): CulexConfig {
  return parseConfigText(text, fileName);
}

/** How to read `config` again, if it came from a file. */
export function configSource(config: CulexConfig): (() => CulexConfig) | undefined {
  return sources.get(config);
}
