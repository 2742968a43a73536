// Users for the HTTP API tests, written with Culex's own culex-passwd into a Mosquitto password file.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
