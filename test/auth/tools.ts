// Test helpers for the auth suite: locating system tools (skip locally, fail on CI), free ports, a real mosquitto.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SEARCH_PATH = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin'];

/** Absolute path of an executable, or undefined. */
export function findTool(name: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    if (dir.length === 0) continue;
    const candidate = join(dir, name);
    if (spawnSync('test', ['-x', candidate]).status === 0) return candidate;
  }
  return undefined;
}

/**
 * Value for node:test's `skip` option: a reason string when a tool is missing locally, false when present.
 * On CI a missing tool is a hard failure instead of a skip.
 */
export function skipUnlessTools(...names: string[]): string | false {
  const missing = names.filter((n) => findTool(n) === undefined);
  if (missing.length === 0) return false;
  if (process.env.CI === 'true') throw new Error(`required tools missing on CI: ${missing.join(', ')}`);
  return `missing tools: ${missing.join(', ')}`;
}

/** A fresh directory readable by others: mosquitto started as root drops to the `mosquitto` user. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'culex-auth-test-'));
  chmodSync(dir, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An ephemeral port: bind to 0, read it back, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

export interface RunningBroker {
  readonly port: number;
  /** Everything the broker logged so far. */
  log(): string;
  stop(): Promise<void>;
}

/** Start the real mosquitto with the given extra config lines on a fresh local port. */
export async function startMosquitto(dir: string, configLines: readonly string[]): Promise<RunningBroker> {
  const port = await freePort();
  const confPath = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(
    confPath,
    [`listener ${port} 127.0.0.1`, 'log_type all', 'log_dest stderr', ...configLines, ''].join('\n'),
  );
  const child: ChildProcess = spawn(findTool('mosquitto') ?? 'mosquitto', ['-c', confPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited early:\n${output}`);
    if (await canConnect(port)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    log: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command to completion without blocking the event loop. */
export function run(command: string, args: readonly string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout, stderr }));
    // The child may exit before reading its input; that is not a test failure.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}
