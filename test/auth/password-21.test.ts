// Mosquitto 2.1 password hashes (Debian ships 2.0.11, so these follow the 2.1 manual and its libcommon source):
// `$argon2id$` as libargon2 encodes it, and `$7$` / `$6$` with the 64-byte salts 2.1 writes.

import assert from 'node:assert/strict';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PasswordFile } from '../../src/auth/password-file.js';
import { run, tempDir } from './tools.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'culex-passwd.js');

/** Password "pw", salt = 64 bytes of 0x01, m=47104 t=1 p=1, 64-byte tag: libargon2's reference encoding. */
const SALT_B64 = 'AQ'.padEnd(86, 'EBAQ').slice(0, 86);
const TAG_B64 = 'z3bjm7G0urHYWC/VTuZoSUZWYc4FxlJA90vKa1CNJK9kYp2Q/tQlDZVh9SJCrfU5uCuuVE/MbJli2+XGOMrIMw';
const LIBARGON2_ORDER = `$argon2id$v=19$m=47104,t=1,p=1$${SALT_B64}$${TAG_B64}`;
const NPM_ORDER = `$argon2id$v=19$m=47104,p=1,t=1$${SALT_B64}$${TAG_B64}`;

test('2.1 manual: an $argon2id$ entry (libargon2 m,t,p order, and the npm m,p,t order) verifies', async () => {
  assert.equal(Buffer.from(SALT_B64, 'base64').equals(Buffer.alloc(64, 1)), true);
  const file = PasswordFile.parse(`alice:${LIBARGON2_ORDER}\nbob:${NPM_ORDER}\n`, 'passwd');
  assert.deepEqual(file.warnings, []);
  assert.equal(await file.verify('alice', 'pw'), true);
  assert.equal(await file.verify('alice', 'pW'), false);
  assert.equal(await file.verify('bob', 'pw'), true);
  // The cost parameters are part of the hash: a changed one must not verify.
  const changed = PasswordFile.parse(`carol:${LIBARGON2_ORDER.replace('t=1', 't=2')}\n`, 'passwd');
  assert.equal(await changed.verify('carol', 'pw'), false);
});

test('2.1 manual: broken $argon2id$ entries are dropped with an error, as unusable hashes are', () => {
  const lines = [
    `a:$argon2id$v=19$m=47104,t=1$${SALT_B64}$${TAG_B64}`,
    `b:$argon2id$v=19$m=99999999,t=1,p=1$${SALT_B64}$${TAG_B64}`,
    `c:$argon2id$v=19$m=47104,t=1,p=1$!!!$${TAG_B64}`,
    `d:$argon2id$v=19$m=47104,t=1,p=1$${SALT_B64}`,
  ];
  const file = PasswordFile.parse(`${lines.join('\n')}\n`, 'passwd');
  assert.deepEqual(file.usernames(), []);
  assert.equal(file.warnings.length, 4);
  for (const w of file.warnings) assert.equal(w.level, 'error');
});

test('2.1 source: $7$ with a 64-byte salt and 1000 iterations (what 2.1 writes) verifies', async () => {
  const salt = randomBytes(64);
  const digest = pbkdf2Sync('secret', salt, 1000, 64, 'sha512');
  const entry = `dave:$7$1000$${salt.toString('base64')}$${digest.toString('base64')}\n`;
  const file = PasswordFile.parse(entry, 'passwd');
  assert.deepEqual(file.warnings, []);
  assert.equal(await file.verify('dave', 'secret'), true);
  assert.equal(await file.verify('dave', 'Secret'), false);
});

test('2.1 manual: culex-passwd -H argon2id writes the $argon2id$ form mosquitto_passwd 2.1 writes', async () => {
  const dir = tempDir();
  const path = join(dir, 'passwd');
  const r = await run(process.execPath, [BIN, '-H', 'argon2id', '-c', '-b', path, 'erin', 'erin-pw']);
  assert.equal(r.status, 0, r.stderr);
  const text = readFileSync(path, 'utf8');
  // 64-byte salt and tag, unpadded base64 (86 characters each), libargon2's parameter order.
  assert.match(text, /^erin:\$argon2id\$v=19\$m=47104,t=1,p=1\$[A-Za-z0-9+/]{86}\$[A-Za-z0-9+/]{86}\n$/);
  const file = PasswordFile.load(path);
  assert.equal(await file.verify('erin', 'erin-pw'), true);
  assert.equal(await file.verify('erin', 'erin-pX'), false);
  const usage = await run(process.execPath, [BIN]);
  assert.match(usage.stdout, /-H argon2id \| -H sha512-pbkdf2 \| -H sha512/);
});
