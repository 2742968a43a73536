// The broker the dashboard tests run against: a Culex process with users admin / secret, viewer / view (read only) and
// device / dev, an
// http_api listener (with a bearer token file), a WebSocket listener and a bridge whose remote is down, and the
// dashboard bundle (built by `npm test`'s build, or here when missing).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { canConnect, freePort, sleep } from '../helpers/net.js';
import { type BrokerProcess, startCulexProcess, tempDir } from '../helpers/processes.js';
import { addUser } from './users.js';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** An admin token of the listener's http_api_token_file. */
export const TOKEN = 'dashboard-token-0123456789';

let built = false;

/**
 * The bundle, built only when dist/dashboard has none: `npm test` builds it before any test starts. Rebuilding it
 * here in every test file's process removed dist/dashboard while another file's Chromium was loading it (test
 * files run two at a time), so that page never rendered its sign-in form.
 */
export function buildBundle(): void {
  if (built || existsSync(join(ROOT, 'dist/dashboard/index.html'))) return;
  const made = spawnSync(process.execPath, [join(ROOT, 'scripts/build-dashboard.mjs')], { encoding: 'utf8' });
  assert.equal(made.status, 0, made.stderr);
  built = true;
}

export interface DashboardBroker {
  broker: BrokerProcess;
  httpPort: number;
  wsPort: number;
  dir: string;
}

/** Culex with users admin / secret (the API, http_dir files and dash/#) and device / dev (dash/#), an http_api and a WebSocket listener. */
export async function startDashboardBroker(
  extra: readonly string[] = [],
  extraPorts: readonly number[] = [],
): Promise<DashboardBroker> {
  buildBundle();
  const dir = tempDir('culex-dashboard-');
  const pwfile = join(dir, 'pwfile');
  addUser(pwfile, 'admin', 'secret', true);
  addUser(pwfile, 'device', 'dev');
  addUser(pwfile, 'viewer', 'view');
  const acl = join(dir, 'acl');
  writeFileSync(
    acl,
    [
      'user admin',
      'topic readwrite /api/#',
      'topic read /#',
      'topic readwrite dash/#',
      'user viewer',
      'topic read /api/#',
      'user device',
      'topic readwrite dash/#',
      '',
    ].join('\n'),
  );
  const tokens = join(dir, 'tokens');
  writeFileSync(tokens, `${TOKEN} admin dashboard-test\n`);
  const httpPort = await freePort();
  const wsPort = await freePort();
  const broker = await startCulexProcess([
    `password_file ${pwfile}`,
    `acl_file ${acl}`,
    `listener ${wsPort} 127.0.0.1`,
    'protocol websockets',
    `listener ${httpPort} 127.0.0.1`,
    'protocol http_api',
    `http_api_token_file ${tokens}`,
    // A bridge whose remote broker is not there: the bridges panel shows it and can stop and start it.
    'connection b1',
    `address 127.0.0.1:${await freePort()}`,
    'topic dash/bridge/# out 0',
    ...extra,
  ]);
  // The process is up once its first listener accepts; the others open right after it.
  for (const port of [httpPort, wsPort, ...extraPorts]) {
    for (let i = 0; i < 200 && !(await canConnect(port)); i++) await sleep(25);
  }
  return { broker, httpPort, wsPort, dir };
}
