// Users for the HTTP API tests, written with Culex's own culex-passwd into a Mosquitto password file, and the
// offline sessions they leave behind.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';

const PASSWD_BIN = fileURLToPath(new URL('../../../bin/culex-passwd.js', import.meta.url));

/** Adds `user` to `pwfile` (`create`: a new file, as `culex-passwd -c`). */
export function addUser(pwfile: string, user: string, password: string, create = false): void {
  const made = spawnSync(process.execPath, [
    PASSWD_BIN,
    ...(create ? ['-c'] : []),
    '-b',
    pwfile,
    user,
    password,
  ]);
  assert.equal(made.status, 0, String(made.stderr));
}

/** Leaves an offline MQTT 5 persistent session (expiry one hour) of `clientId` subscribed to `filter` at QoS 1. */
export async function leaveOfflineSession(
  port: number,
  clientId: string,
  login: { username: string; password: string },
  filter: string,
): Promise<void> {
  const c = await mqtt.connectAsync({
    host: '127.0.0.1',
    port,
    clientId,
    ...login,
    protocolVersion: 5,
    clean: false,
    properties: { sessionExpiryInterval: 3600 },
    reconnectPeriod: 0,
  });
  await c.subscribeAsync(filter, { qos: 1 });
  await c.endAsync();
}
