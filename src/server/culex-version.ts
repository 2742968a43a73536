// The Culex version string, read once from package.json (for $SYS/broker/version and banners).

import { readFileSync } from 'node:fs';

/** The npm package's name; another package.json on the way up is not ours. */
const PACKAGE_NAME = 'culex-mqtt';

let cached: string | undefined;

/** Version from package.json; '0.0.0' when it cannot be read (e.g. the sources were bundled elsewhere). */
export function culexVersion(): string {
  if (cached !== undefined) return cached;
  cached = '0.0.0';
  // Compiled to dist/src/server/, so package.json is three levels up; from src/server/ it is two.
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === PACKAGE_NAME && typeof pkg.version === 'string') {
        cached = pkg.version;
        break;
      }
    } catch {
      // try the next candidate
    }
  }
  return cached;
}
