// The `user` option: started as root, culex runs as that user (default "mosquitto"), as mosquitto 2.0.11 does;
// a user that does not exist stops the start with mosquitto's message. Unit cases cover what the host cannot.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  type Account,
  dropPrivileges,
  lookupAccount,
  type PrivilegeSystem,
} from '../../src/cli/drop-privileges.js';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { run } from '../helpers/run.js';
import { findTool, requireTool } from '../helpers/tools.js';

const isRoot = process.geteuid?.() === 0;
const skipRoot = isRoot ? requireTool('mosquitto') : 'needs root (tests run as root in CI)';
const MOSQUITTO = findTool('mosquitto') ?? 'mosquitto';

function uidOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const uid = /^Uid:\s+(\d+)/m.exec(status)?.[1];
  return Number(uid);
}

async function startBoth(lines: string[]): Promise<[BrokerProcess, BrokerProcess]> {
  const dir = tempDir('culex-user-');
  const mPort = await freePort();
  const m = await launchWith(MOSQUITTO, (c) => ['-c', c], writeConf(dir, mPort, lines), mPort);
  const cPort = await freePort();
  const c = await launchWith(
    process.execPath,
    (conf) => [CULEX_BIN, '-c', conf],
    writeConf(dir, cPort, lines),
    cPort,
  );
  return [m, c];
}

test('started as root with "user nobody", culex runs as nobody, as mosquitto does', {
  skip: skipRoot,
}, async () => {
  const nobody = lookupAccount('nobody');
  assert.ok(nobody !== undefined);
  const [m, c] = await startBoth(['allow_anonymous true', 'user nobody']);
  try {
    assert.equal(uidOf(m.pid), nobody.uid);
    assert.equal(uidOf(c.pid), nobody.uid);
  } finally {
    await Promise.all([m.stop(), c.stop()]);
  }
});

test('started as root without "user", culex runs as "mosquitto" when that user exists', {
  skip: skipRoot,
}, async (t) => {
  const account = lookupAccount('mosquitto');
  if (account === undefined) {
    t.skip('no "mosquitto" user on this host');
    return;
  }
  const [m, c] = await startBoth(['allow_anonymous true']);
  try {
    assert.equal(uidOf(m.pid), account.uid);
    assert.equal(uidOf(c.pid), account.uid);
  } finally {
    await Promise.all([m.stop(), c.stop()]);
  }
});

test('"user root" keeps root and warns, as mosquitto does', { skip: skipRoot }, async () => {
  const [m, c] = await startBoth(['allow_anonymous true', 'user root']);
  try {
    assert.equal(uidOf(m.pid), 0);
    assert.equal(uidOf(c.pid), 0);
    assert.match(m.log(), /Warning: Mosquitto should not be run as root\/administrator\./);
    assert.match(c.log(), /Warning: Culex should not be run as root\/administrator\./);
  } finally {
    await Promise.all([m.stop(), c.stop()]);
  }
});

test("a user that does not exist: exit 1 with mosquitto's message, before anything else", {
  skip: skipRoot,
}, async () => {
  const dir = tempDir('culex-user-');
  const conf = writeConf(dir, await freePort(), ['user culex-no-such-user']);
  const m = await run(MOSQUITTO, ['-c', conf]);
  const c = await run(process.execPath, [CULEX_BIN, '-c', conf]);
  const strip = (s: string): string => s.replace(/^\d+: /gm, '');
  assert.equal(m.status, 1);
  assert.equal(c.status, 1);
  assert.equal(strip(c.stderr), strip(m.stderr));
  assert.equal(
    strip(m.stderr),
    "Error: Unable to drop privileges to 'culex-no-such-user' because this user does not exist.\n",
  );
});

/** A fake system where the process is root and only the given accounts exist. */
function fakeRoot(accounts: Record<string, Account>): PrivilegeSystem & { calls: string[] } {
  let euid = 0;
  let egid = 0;
  const calls: string[] = [];
  return {
    calls,
    geteuid: () => euid,
    getegid: () => egid,
    lookup: (name) => accounts[name],
    initgroups: (name, gid) => calls.push(`initgroups ${name} ${gid}`),
    setgid: (gid) => {
      calls.push(`setgid ${gid}`);
      egid = gid;
    },
    setuid: (uid) => {
      calls.push(`setuid ${uid}`);
      euid = uid;
    },
  };
}

test('no "mosquitto" user: the default falls back to "nobody" with mosquitto\'s warning', () => {
  const system = fakeRoot({ nobody: { uid: 65534, gid: 65533 } });
  const lines: string[] = [];
  assert.equal(
    dropPrivileges(undefined, (l) => lines.push(l), system),
    true,
  );
  assert.deepEqual(lines, [
    "Warning: Unable to drop privileges to 'mosquitto' because this user does not exist. Trying 'nobody' instead.",
  ]);
  assert.deepEqual(system.calls, ['initgroups nobody 65533', 'setgid 65533', 'setuid 65534']);
});

test('neither "mosquitto" nor "nobody": start-up fails', () => {
  const lines: string[] = [];
  assert.equal(
    dropPrivileges(undefined, (l) => lines.push(l), fakeRoot({})),
    false,
  );
  assert.equal(lines.at(-1), "Error: Unable to drop privileges to 'nobody'.");
});

test('not root: nothing changes and nothing is logged', () => {
  const system = { ...fakeRoot({}), geteuid: () => 1000 };
  const lines: string[] = [];
  assert.equal(
    dropPrivileges('nobody', (l) => lines.push(l), system),
    true,
  );
  assert.deepEqual(lines, []);
});
