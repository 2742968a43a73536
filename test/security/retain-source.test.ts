// check_retain_source (Mosquitto's fix for CVE-2018-12546): with it on, a retained message is sent to a new
// subscriber only while the client that published it may still write its topic, after an ACL reload and after a
// restart with persistence (the source is saved with the message). Without the option Mosquitto 2.0.11 does not
// check (its manual says the default is true; the binary behaves as false). Checked on Culex and on Mosquitto.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { kinds, leave, login, publish1, received, startSecure, sub } from './acl-fixture.js';

/** alice loses write access to room/x; bob keeps reading it. */
const ALICE_READS_ONLY = 'user alice\ntopic read #\n\nuser bob\ntopic readwrite room/x\n';

async function bobGets(port: number): Promise<string[]> {
  const bob = await login(port, 'bob', 'bob-ret');
  await sub(bob, 'room/x');
  const got = await received(bob, 300);
  bob.disconnect();
  return got;
}

for (const kind of kinds()) {
  for (const check of [true, false]) {
    const name = check ? 'check_retain_source true' : 'no check_retain_source line';
    test(`${kind}, ${name}: a retained message after its publisher lost write access`, async () => {
      const b = await startSecure(kind, check ? ['check_retain_source true'] : []);
      try {
        const alice = await login(b.port, 'alice', 'alice-ret');
        await publish1(alice, 'room/x', 'kept', 1, true);
        await leave(alice);
        assert.deepEqual(await bobGets(b.port), ['room/x=kept']);
        await b.reloadAcl(ALICE_READS_ONLY);
        assert.deepEqual(await bobGets(b.port), check ? [] : ['room/x=kept']);
      } finally {
        await b.stop();
      }
    });
  }

  test(`${kind}: the source of a retained message survives a restart with persistence`, async () => {
    const b = await startSecure(kind, [
      'check_retain_source true',
      'persistence true',
      'persistence_location $DIR/',
    ]);
    try {
      const alice = await login(b.port, 'alice', 'alice-ret');
      await publish1(alice, 'room/x', 'durable', 1, true);
      await leave(alice);
      await b.restart();
      assert.deepEqual(await bobGets(b.port), ['room/x=durable']);
      await b.reloadAcl(ALICE_READS_ONLY);
      assert.deepEqual(await bobGets(b.port), []);
    } finally {
      await b.stop();
    }
  });
}
