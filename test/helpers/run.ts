// Running external commands (mosquitto clients, python) without blocking the event loop, with a hard timeout.

import { type ChildProcess, spawn } from 'node:child_process';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Running {
  readonly child: ChildProcess;
  /** Output so far. */
  stdout(): string;
  readonly done: Promise<RunResult>;
}

/** Starts a command; it is killed if still running after `timeoutMs`. */
export function start(command: string, args: readonly string[], timeoutMs = 10000): Running {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<RunResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, done };
}

/** Runs a command to completion. */
export function run(command: string, args: readonly string[], timeoutMs = 10000): Promise<RunResult> {
  return start(command, args, timeoutMs).done;
}
