// Builds the C load generator when needed and runs it pinned to core 0, returning its RESULT record.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** The generator's RESULT line, parsed: numbers and strings keyed by field name. */
export type LoadResult = Record<string, number | string>;

const GENERATOR_CORE = '0';

export function loadgenPaths(benchSourceDir: string): { source: string; binary: string } {
  const dir = join(benchSourceDir, 'loadgen');
  return { source: join(dir, 'loadgen.c'), binary: join(dir, 'build', 'loadgen') };
}

/** `cc -O2` (with TLS when OpenSSL's headers are there) into bench/loadgen/build/ when missing or stale; self-test. */
export function ensureLoadgen(benchSourceDir: string): string {
  const { source, binary } = loadgenPaths(benchSourceDir);
  const stale = !existsSync(binary) || statSync(binary).mtimeMs < statSync(source).mtimeMs;
  if (stale) {
    mkdirSync(join(benchSourceDir, 'loadgen', 'build'), { recursive: true });
    // TLS clients need OpenSSL's headers (libssl-dev); without them the TLS scenario reports an error.
    const tls = existsSync('/usr/include/openssl/ssl.h') ? ['-DWITH_TLS'] : [];
    const libs = tls.length > 0 ? ['-lssl', '-lcrypto'] : [];
    execFileSync('cc', ['-O2', '-Wall', ...tls, '-o', binary, source, ...libs], { stdio: 'inherit' });
    // A fresh build proves it reassembles split packets before any figure is trusted.
    execFileSync(binary, ['--selftest'], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  return binary;
}

export class LoadgenError extends Error {}

/** Runs the generator; kills it after timeoutMs (it also has its own watchdog). */
export function runLoadgen(binary: string, args: readonly string[], timeoutMs: number): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', GENERATOR_CORE, binary, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out = (out + d).slice(-65_536);
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      err = (err + d).slice(-8_192);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('RESULT '));
      if (line === undefined) {
        reject(new LoadgenError(`loadgen ended (${code ?? signal}) without a result: ${err.trim()}`));
        return;
      }
      try {
        const parsed = JSON.parse(line.slice('RESULT '.length)) as LoadResult;
        parsed.exit_code = code ?? -1;
        if (err.trim() !== '') parsed.stderr = err.trim().slice(0, 500);
        resolve(parsed);
      } catch (e) {
        reject(new LoadgenError(`unreadable result line: ${line.slice(0, 200)} (${String(e)})`));
      }
    });
  });
}

export function num(r: LoadResult, key: string): number {
  const v = r[key];
  return typeof v === 'number' ? v : Number.NaN;
}
