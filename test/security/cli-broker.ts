// Starts Culex's CLI (`node bin/culex.js -c file`) with a configuration written by the test, for security
// tests that need the real configuration path: password / ACL files, plugins, SIGHUP reload.

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort, sleep } from '../helpers/net.js';
import { CULEX_BIN } from '../helpers/processes.js';

export interface CliBroker {
  readonly port: number;
  readonly confPath: string;
  log(): string;
  /** Sends SIGHUP and waits for the reload to finish ("Config reloaded." or a reload error). */
  reload(): Promise<string>;
  stop(): Promise<void>;
}

export async function startCli(dir: string, lines: readonly string[]): Promise<CliBroker> {
  const port = await freePort();
  const confPath = join(dir, `culex-${port}.conf`);
  writeFileSync(confPath, [`listener ${port} 127.0.0.1`, 'log_type all', ...lines, ''].join('\n'));
  const child: ChildProcess = spawn(process.execPath, [CULEX_BIN, '-c', confPath], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let up = false;
  for (let i = 0; i < 200 && !up; i++) {
    if (child.exitCode !== null) throw new Error(`culex exited early:\n${output}`);
    up = await canConnect(port);
    if (!up) await sleep(25);
  }
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`culex did not open port ${port}:\n${output}`);
  }
  return {
    port,
    confPath,
    log: () => output,
    async reload() {
      const before = output.length;
      child.kill('SIGHUP');
      for (let i = 0; i < 200; i++) {
        const tail = output.slice(before);
        if (/Config reloaded\.|reload failed/.test(tail)) return tail;
        await sleep(25);
      }
      throw new Error(`no reload outcome:\n${output.slice(before)}`);
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
