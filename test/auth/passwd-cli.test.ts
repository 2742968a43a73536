// culex-passwd tests: files it writes are accepted by the real mosquitto broker; errors match mosquitto_passwd.

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PasswordFile } from '../../src/auth/password-file.js';
import { run, skipUnlessTools, startMosquitto, tempDir } from './tools.js';

// dist/test/auth -> repository root
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const BIN = join(ROOT, 'bin', 'culex-passwd.js');

const culexPasswd = (args: string[], input?: string) => run(process.execPath, [BIN, ...args], input);

async function ok(args: string[]): Promise<void> {
  const r = await culexPasswd(args);
  assert.equal(r.status, 0, `culex-passwd ${args.join(' ')}: ${r.stderr}`);
}

/** mosquitto_pub exits 0 when the broker accepts the credentials, non-zero when refused. */
async function canPublish(port: number, user: string, password: string): Promise<boolean> {
  const r = await run('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-u',
    user,
    '-P',
    password,
    '-t',
    't',
    '-m',
    'x',
  ]);
  return r.status === 0;
}

test('files written by culex-passwd (-c -b, -b, -H, -I, -D, -U) are accepted by the real mosquitto broker', {
  skip: skipUnlessTools('mosquitto', 'mosquitto_pub'),
}, async () => {
  const dir = tempDir();
  const file = join(dir, 'passwd');
  await ok(['-c', '-b', file, 'alice', 'alice-pw']);
  await ok(['-b', file, 'bob', 'bob-pw']);
  await ok(['-H', 'sha512', '-b', file, 'carol', 'carol-pw']);
  await ok(['-I', '1000', '-b', file, 'dave', 'dave-pw']);
  await ok(['-b', file, 'erin', 'erin-pw']);
  await ok(['-D', file, 'erin']);
  await ok(['-b', file, 'bob', 'bob-new']); // update in place
  const plain = join(dir, 'plain');
  writeFileSync(plain, 'frank:frank-pw\ngrace:grace pw with spaces\n');
  await ok(['-U', plain]);
  writeFileSync(file, readFileSync(file, 'utf8') + readFileSync(plain, 'utf8'));

  const text = readFileSync(file, 'utf8');
  assert.match(text, /^alice:\$7\$101\$/m);
  assert.match(text, /^carol:\$6\$/m);
  assert.match(text, /^dave:\$7\$1000\$/m);
  assert.doesNotMatch(text, /^erin:/m);
  assert.equal(text.match(/^bob:/gm)?.length, 1);

  const broker = await startMosquitto(dir, [`password_file ${file}`, 'allow_anonymous false']);
  try {
    const cases: Array<[string, string, boolean]> = [
      ['alice', 'alice-pw', true],
      ['alice', 'wrong', false],
      ['bob', 'bob-new', true],
      ['bob', 'bob-pw', false],
      ['carol', 'carol-pw', true],
      ['dave', 'dave-pw', true],
      ['dave', 'dave-p', false],
      ['erin', 'erin-pw', false],
      ['frank', 'frank-pw', true],
      ['grace', 'grace pw with spaces', true],
      ['nobody', 'x', false],
    ];
    for (const [user, password, expected] of cases) {
      assert.equal(await canPublish(broker.port, user, password), expected, `${user}/${password}`);
    }
  } finally {
    await broker.stop();
  }
  // And Culex agrees with the broker on the same file.
  const pw = PasswordFile.load(file);
  assert.equal(await pw.verify('grace', 'grace pw with spaces'), true);
  assert.equal(await pw.verify('bob', 'bob-pw'), false);
});

test('culex-passwd edits files written by mosquitto_passwd and vice versa', {
  skip: skipUnlessTools('mosquitto_passwd'),
}, async () => {
  const dir = tempDir();
  const file = join(dir, 'passwd');
  const m = await run('mosquitto_passwd', ['-c', '-b', file, 'm1', 'pw1']);
  assert.equal(m.status, 0, m.stderr);
  await ok(['-b', file, 'c1', 'pw2']);
  const m2 = await run('mosquitto_passwd', ['-b', file, 'm2', 'pw3']);
  assert.equal(m2.status, 0, m2.stderr);
  await ok(['-D', file, 'm1']);
  const pw = PasswordFile.load(file);
  assert.deepEqual(pw.usernames(), ['c1', 'm2']);
  assert.equal(await pw.verify('c1', 'pw2'), true);
  assert.equal(await pw.verify('m2', 'pw3'), true);
});

test('interactive mode reads the password twice; mismatch exits 2, empty exits 1', async () => {
  const dir = tempDir();
  const file = join(dir, 'passwd');
  const mismatch = await culexPasswd(['-c', file, 'u'], 'one\ntwo\n');
  assert.equal(mismatch.status, 2);
  assert.equal(mismatch.stderr, 'Error: Passwords do not match.\n');
  assert.equal(mismatch.stdout, 'Password: \nReenter password: \n');
  const empty = await culexPasswd(['-c', file, 'u'], '\n');
  assert.equal(empty.status, 1);
  assert.equal(empty.stderr, 'Error: Empty password.\n');
  const good = await culexPasswd(['-c', file, 'u'], 'same pw\r\nsame pw\r\n');
  assert.equal(good.status, 0, good.stderr);
  assert.equal(await PasswordFile.load(file).verify('u', 'same pw'), true);
  const update = await culexPasswd([file, 'v'], 'other\nother\n');
  assert.equal(update.status, 0, update.stderr);
  assert.deepEqual(PasswordFile.load(file).usernames(), ['u', 'v']);
});

test('error messages and exit codes match mosquitto_passwd', {
  skip: skipUnlessTools('mosquitto_passwd'),
}, async () => {
  const dir = tempDir();
  const existing = join(dir, 'existing');
  writeFileSync(existing, `a:$6$AAAAAAAAAAAAAAAA$${'A'.repeat(86)}==\n`);
  const corrupt = join(dir, 'corrupt');
  writeFileSync(corrupt, 'a:b\n\nc:d\n');
  const cases: string[][] = [
    ['-H', 'md5', '-b', existing, 'u', 'p'],
    ['-H'],
    ['-I', '0', '-b', existing, 'u', 'p'],
    ['-I', 'abc', '-b', existing, 'u', 'p'],
    ['-I'],
    ['-c', '-D', existing, 'u'],
    ['-c', '-U', existing],
    ['-D', '-U', existing],
    ['-b', '-D', existing, 'u'],
    ['-c', '-b', existing, 'u'],
    ['-c', existing],
    ['-D', existing],
    ['-U'],
    ['-b', existing, 'a:b', 'p'],
    ['-b', existing, 'a\tb', 'p'],
    ['-b', join(dir, 'missing'), 'u', 'p'],
    ['-c', '-b', join(dir, 'no-dir', 'x'), 'u', 'p'],
    ['-D', existing, 'nobody'],
    // Not compared: `-b corrupt u p`. mosquitto_passwd 2.0.11 reports the corrupt line yet exits 0 and
    // truncates the file after it (data loss); culex-passwd exits 1 and leaves the file untouched.
    ['-D', corrupt, 'a'],
    ['-U', corrupt],
  ];
  for (const args of cases) {
    // Each tool works on its own copy so neither sees the other's edits.
    const copy = (tool: string) =>
      args.map((a) => {
        if (a !== existing && a !== corrupt) return a;
        const target = `${a}.${tool}`;
        copyFileSync(a, target);
        return target;
      });
    const theirs = await run('mosquitto_passwd', copy('m'));
    const ours = await culexPasswd(copy('c'));
    const normalise = (s: string) => s.replaceAll('.m', '.X').replaceAll('.c', '.X');
    assert.equal(ours.status, theirs.status, `exit code for ${args.join(' ')}`);
    assert.equal(normalise(ours.stderr), normalise(theirs.stderr), `stderr for ${args.join(' ')}`);
  }
});

test('a corrupt line aborts an update with exit 1 and leaves the file untouched', async () => {
  const file = join(tempDir(), 'corrupt');
  writeFileSync(file, 'a:b\n\nc:d\n');
  const r = await culexPasswd(['-b', file, 'u', 'p']);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'Error: Corrupt password file at line 2.\n');
  assert.equal(readFileSync(file, 'utf8'), 'a:b\n\nc:d\n');
});
