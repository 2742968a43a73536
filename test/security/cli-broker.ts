// Starts Culex's CLI (`node bin/culex.js -c file`) with a configuration written by the test, for security
// tests that need the real configuration path: password / ACL files, plugins, SIGHUP reload.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, sleep } from '../helpers/net.js';
import { CULEX_BIN, launchWith } from '../helpers/processes.js';

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
  const proc = await launchWith(process.execPath, (conf) => [CULEX_BIN, '-c', conf], confPath, port);
  return {
    port,
    confPath,
    log: proc.log,
    async reload() {
      const before = proc.log().length;
      proc.signal('SIGHUP');
      for (let i = 0; i < 200; i++) {
        const tail = proc.log().slice(before);
        if (/Config reloaded\.|reload failed/.test(tail)) return tail;
        await sleep(25);
      }
      throw new Error(`no reload outcome:\n${proc.log().slice(before)}`);
    },
    stop: proc.stop,
  };
}
