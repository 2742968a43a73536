// Password-file tests: files written by Debian's mosquitto_passwd are verified by Culex, plus parsing rules.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AuthFileError } from '../../src/auth/auth-file-error.js';
import { hashPassword, PasswordFile } from '../../src/auth/password-file.js';
import { run, skipUnlessTools, tempDir } from './tools.js';

const skipPasswd = skipUnlessTools('mosquitto_passwd');

async function mosquittoPasswd(args: string[]): Promise<void> {
  const result = await run('mosquitto_passwd', args);
  assert.equal(result.status, 0, result.stderr);
}

test('files made by mosquitto_passwd (sha512-pbkdf2 and sha512) verify right and reject wrong passwords', {
  skip: skipPasswd,
}, async () => {
  const dir = tempDir();
  const file = join(dir, 'passwd');
  await mosquittoPasswd(['-c', '-b', file, 'alice', 'correct horse']);
  await mosquittoPasswd(['-H', 'sha512', '-b', file, 'bob', 'b0b:pw$with$dollars']);
  await mosquittoPasswd(['-I', '1000', '-b', file, 'carol', 'ünïcødé']);
  await mosquittoPasswd(['-H', 'sha512-pbkdf2', '-b', file, 'dave', 'x']);
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^alice:\$7\$101\$/m);
  assert.match(text, /^bob:\$6\$/m);
  assert.match(text, /^carol:\$7\$1000\$/m);

  const pw = PasswordFile.load(file);
  assert.deepEqual(pw.warnings, []);
  assert.equal(await pw.verify('alice', 'correct horse'), true);
  assert.equal(await pw.verify('alice', Buffer.from('correct horse')), true);
  assert.equal(await pw.verify('alice', 'correct horse '), false);
  assert.equal(await pw.verify('bob', 'b0b:pw$with$dollars'), true);
  assert.equal(await pw.verify('bob', 'b0b'), false);
  assert.equal(await pw.verify('carol', 'ünïcødé'), true);
  assert.equal(await pw.verify('carol', 'unicode'), false);
  assert.equal(await pw.verify('dave', 'x'), true);
  assert.equal(await pw.verify('dave', ''), false);
  assert.equal(await pw.verify('mallory', 'x'), false);
  assert.equal(pw.has('alice'), true);
  assert.equal(pw.has('mallory'), false);
});

test('hashPassword defaults to sha512-pbkdf2 with 101 iterations and round-trips through parse', async () => {
  const pbkdf2 = await hashPassword('s3cret', 'sha512-pbkdf2');
  assert.match(pbkdf2, /^\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  const sha = await hashPassword('s3cret', 'sha512');
  assert.match(sha, /^\$6\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==$/);
  const slow = await hashPassword('s3cret', 'sha512-pbkdf2', 2000);
  assert.match(slow, /^\$7\$2000\$/);
  const pw = PasswordFile.parse(`a:${pbkdf2}\nb:${sha}\nc:${slow}\n`, 'mem');
  for (const user of ['a', 'b', 'c']) {
    assert.equal(await pw.verify(user, 's3cret'), true, user);
    assert.equal(await pw.verify(user, 'S3cret'), false, user);
  }
  await assert.rejects(hashPassword('x', 'sha512-pbkdf2', 0), RangeError);
});

test('parse follows the broker: comments and lines without ":" skipped, bad hashes dropped with a warning', async () => {
  const good = await hashPassword('pw', 'sha512');
  const text = [
    '# comment line',
    '',
    'no colon here',
    `  spaced  :  ${good}  `,
    'plain:text-password',
    'badsalt:$7$101$AAAA$AAAA',
    `zeroiter:$7$0$AAAAAAAAAAAAAAAA$${'A'.repeat(86)}==`,
    'nopass:',
    `crlf:${good}\r`,
  ].join('\n');
  const pw = PasswordFile.parse(text, 'pwfile');
  assert.deepEqual(pw.usernames(), ['spaced', 'crlf']);
  assert.equal(await pw.verify('spaced', 'pw'), true);
  assert.equal(await pw.verify('crlf', 'pw'), true);
  assert.equal(await pw.verify('plain', 'text-password'), false);
  assert.deepEqual(
    pw.warnings.map((w) => w.line),
    [5, 6, 7, 8],
  );
  for (const w of pw.warnings) {
    assert.ok(w instanceof AuthFileError);
    assert.equal(w.file, 'pwfile');
  }
});

test('a later valid entry for the same user replaces an earlier one', async () => {
  const first = await hashPassword('one', 'sha512');
  const second = await hashPassword('two', 'sha512');
  const pw = PasswordFile.parse(`u:${first}\nu:${second}\n`, 'dup');
  assert.equal(await pw.verify('u', 'two'), true);
  assert.equal(await pw.verify('u', 'one'), false);
});

test('password bytes after a NUL are ignored, like Mosquitto hashing a C string', async () => {
  const pw = PasswordFile.parse(`u:${await hashPassword('abc', 'sha512-pbkdf2')}\n`, 'nul');
  assert.equal(await pw.verify('u', Buffer.from('abc\0def')), true);
  assert.equal(await pw.verify('u', Buffer.from('ab\0c')), false);
});

test('load of a missing file throws AuthFileError naming the file', () => {
  const path = join(tempDir(), 'does-not-exist');
  assert.throws(
    () => PasswordFile.load(path),
    (err: unknown) => err instanceof AuthFileError && err.file === path && err.line === 0,
  );
});

test('verify runs PBKDF2 off the event loop', async () => {
  const pw = PasswordFile.parse(`u:${await hashPassword('pw', 'sha512-pbkdf2', 200_000)}\n`, 'slow');
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const ok = await pw.verify('u', 'pw');
  clearInterval(timer);
  assert.equal(ok, true);
  // 200k rounds take tens of milliseconds; a blocked loop would not tick at all meanwhile.
  assert.ok(ticks > 0, `event loop ticked ${ticks} times`);
});
