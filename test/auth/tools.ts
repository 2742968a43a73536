// Test helpers for the auth suite: temp dirs, a real mosquitto with extra config lines, running CLI tools.

import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, launchWith } from '../helpers/processes.js';
import { findTool } from '../helpers/tools.js';

export { requireTool as skipUnlessTools } from '../helpers/tools.js';

/** A fresh directory readable by others: mosquitto started as root drops to the `mosquitto` user. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'culex-auth-test-'));
  chmodSync(dir, 0o755);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type RunningBroker = Pick<BrokerProcess, 'port' | 'log' | 'stop'>;

/** Start the real mosquitto with the given extra config lines on a fresh local port. */
export async function startMosquitto(dir: string, configLines: readonly string[]): Promise<RunningBroker> {
  const port = await freePort();
  const confPath = join(dir, `mosquitto-${port}.conf`);
  writeFileSync(
    confPath,
    [`listener ${port} 127.0.0.1`, 'log_type all', 'log_dest stderr', ...configLines, ''].join('\n'),
  );
  return launchWith(findTool('mosquitto') ?? 'mosquitto', (conf) => ['-c', conf], confPath, port);
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
