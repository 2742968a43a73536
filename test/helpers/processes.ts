// Starts a broker in a child process from a mosquitto.conf: the real `mosquitto`, or Culex's own CLI
// (`node bin/culex.js -c file`), so both can be driven with the very same configuration file.

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort, sleep } from './net.js';
import { findTool } from './tools.js';

/** bin/culex.js, located from this compiled file (dist/test/helpers/processes.js). */
export const CULEX_BIN = fileURLToPath(new URL('../../../bin/culex.js', import.meta.url));

export interface BrokerProcess {
  readonly port: number;
  readonly pid: number;
  readonly confPath: string;
  /** Everything the process wrote so far. */
  log(): string;
  /** Sends a signal (e.g. SIGHUP to reload) without waiting for anything. */
  signal(name: NodeJS.Signals): void;
  /** How the process ended ("code 1", "signal SIGKILL"), or null while it runs. */
  exitStatus(): string | null;
  stop(): Promise<void>;
}

/** A fresh temporary directory readable by others (mosquitto started as root drops to its own user). */
export function tempDir(prefix = 'culex-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

/** Writes a mosquitto.conf with a loopback listener on `port` followed by `lines`. */
export function writeConf(dir: string, port: number, lines: readonly string[]): string {
  const path = join(dir, `broker-${port}.conf`);
  writeFileSync(path, [`listener ${port} 127.0.0.1`, ...lines, ''].join('\n'));
  chmodSync(path, 0o644);
  return path;
}

async function launch(
  command: string,
  args: (conf: string) => string[],
  lines: readonly string[],
): Promise<BrokerProcess> {
  const dir = tempDir();
  const port = await freePort();
  return launchWith(command, args, writeConf(dir, port, lines), port);
}

/** Spawns `command args(confPath)` and resolves once `port` accepts connections; rejects if it exits first. */
export async function launchWith(
  command: string,
  args: (conf: string) => string[],
  confPath: string,
  port: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BrokerProcess> {
  const child: ChildProcess = spawn(command, args(confPath), { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let up = false;
  for (let i = 0; i < 200 && !up; i++) {
    if (child.exitCode !== null) throw new Error(`${command} exited early:\n${output}`);
    up = await canConnect(port);
    if (!up) await sleep(25);
  }
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`${command} did not open port ${port}:\n${output}`);
  }
  return {
    port,
    pid: child.pid ?? 0,
    confPath,
    log: () => output,
    signal: (name) => {
      child.kill(name);
    },
    exitStatus: () => {
      if (child.signalCode !== null) return `signal ${child.signalCode}`;
      return child.exitCode === null ? null : `code ${child.exitCode}`;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

/** The real Eclipse Mosquitto with a loopback listener on a free port and the given config lines. */
export function startMosquitto(lines: readonly string[] = ['allow_anonymous true']): Promise<BrokerProcess> {
  return launch(findTool('mosquitto') ?? 'mosquitto', (conf) => ['-c', conf], lines);
}

/** Culex's CLI with the same kind of configuration file. */
export function startCulexProcess(
  lines: readonly string[] = ['allow_anonymous true'],
): Promise<BrokerProcess> {
  return launch(process.execPath, (conf) => [CULEX_BIN, '-c', conf], lines);
}

/** Starts `mosquitto` or Culex's CLI with an existing configuration file whose listener is on `port`. */
export function startFromConf(
  kind: 'mosquitto' | 'culex',
  confPath: string,
  port: number,
): Promise<BrokerProcess> {
  return kind === 'mosquitto'
    ? launchWith(findTool('mosquitto') ?? 'mosquitto', (conf) => ['-c', conf], confPath, port)
    : launchWith(process.execPath, (conf) => [CULEX_BIN, '-c', conf], confPath, port);
}
