// Locating system tools for tests: a missing tool skips the test locally but is a hard failure on CI.

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const SEARCH_PATH = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin'];

/** Absolute path of an executable (a bare name is searched on PATH, an absolute path is checked), or undefined. */
export function findTool(name: string): string | undefined {
  const candidates = name.startsWith('/')
    ? [name]
    : SEARCH_PATH.filter((d) => d !== '').map((d) => join(d, name));
  for (const candidate of candidates) {
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate;
  }
  return undefined;
}

/**
 * Value for node:test's `skip` option: false when every tool is there, else a reason string.
 * Under CI=true a missing tool throws instead, so the suite fails rather than silently skipping.
 */
export function requireTool(...names: string[]): string | false {
  const missing = names.filter((n) => findTool(n) === undefined);
  if (missing.length === 0) return false;
  const reason = `missing tools: ${missing.join(', ')}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (required on CI)`);
  return reason;
}

/** Like requireTool, for a Python module importable by /usr/bin/python3. */
export function requirePythonModule(module: string): string | false {
  const python = requireTool('/usr/bin/python3');
  if (python !== false) return python;
  const ok = spawnSync('/usr/bin/python3', ['-c', `import ${module}`]).status === 0;
  if (ok) return false;
  const reason = `python module ${module} missing`;
  if (process.env.CI === 'true') throw new Error(`${reason} (required on CI)`);
  return reason;
}
