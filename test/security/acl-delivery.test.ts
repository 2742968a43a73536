// Every delivery is authorized against the client it goes to, when it goes: messages queued for an offline
// persistent session, in-flight messages resent after a reconnect, after an ACL reload (SIGHUP), and when another
// user resumes the session with its client identifier. Each case runs on Culex's CLI and on the real Mosquitto
// 2.0.11 (the oracle), which must give the same answer.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACL, kinds, leave, login, publish1, received, resume, startSecure, sub } from './acl-fixture.js';

const NO_READ = 'user alice\ntopic readwrite #\n\nuser bob\ntopic write room/x\n';

for (const kind of kinds()) {
  test(`${kind}: messages queued for an offline session are checked against its read ACL`, async () => {
    const b = await startSecure(kind);
    try {
      const bob = await login(b.port, 'bob', 'bob-q', { clean: false });
      await sub(bob, '#');
      await leave(bob);
      const alice = await login(b.port, 'alice', 'alice-q');
      await publish1(alice, 'room/a/secret', 'secret', 1);
      await publish1(alice, 'room/x', 'ok', 2);
      await leave(alice);
      const back = await login(b.port, 'bob', 'bob-q', { clean: false });
      assert.deepEqual(await received(back, 400, true, 1), ['room/x=ok']);
      back.disconnect();
    } finally {
      await b.stop();
    }
  });

  test(`${kind}: after a SIGHUP that removes read access, queued and in-flight messages are dropped`, async () => {
    const b = await startSecure(kind);
    try {
      const bob = await login(b.port, 'bob', 'bob-r', { clean: false });
      await sub(bob, 'room/x');
      const alice = await login(b.port, 'alice', 'alice-r');
      // One message reaches bob and stays unacknowledged (in flight), one is queued while he is away.
      await publish1(alice, 'room/x', 'inflight', 1);
      assert.deepEqual(await received(bob, 200, false, 1), ['room/x=inflight']);
      bob.destroy();
      await new Promise((r) => setTimeout(r, 150));
      await publish1(alice, 'room/x', 'queued', 2);
      await b.reloadAcl(NO_READ);
      const back = await login(b.port, 'bob', 'bob-r', { clean: false });
      assert.deepEqual(await received(back, 400), []);
      await leave(back);
      // Dropped, not skipped: read access restored, nothing comes back.
      await b.reloadAcl(ACL);
      const again = await login(b.port, 'bob', 'bob-r', { clean: false });
      assert.deepEqual(await received(again, 400), []);
      again.disconnect();
      alice.disconnect();
    } finally {
      await b.stop();
    }
  });

  test(`${kind}: a user resuming another user's session gets only what his own ACL allows`, async () => {
    const b = await startSecure(kind);
    try {
      const alice = await login(b.port, 'alice', 'shared-id', { clean: false });
      await sub(alice, 'room/#');
      // In flight when she leaves (not acknowledged), then two more queued while she is away.
      const pub = await login(b.port, 'alice', 'alice-pub');
      await publish1(pub, 'room/a/one', 'inflight-secret', 1);
      await publish1(pub, 'room/x', 'inflight-ok', 2);
      assert.equal((await received(alice, 300, false, 2)).length, 2);
      alice.destroy();
      await new Promise((r) => setTimeout(r, 150));
      await publish1(pub, 'room/a/two', 'queued-secret', 3);
      await publish1(pub, 'room/x', 'queued-ok', 4);
      const bob = await login(b.port, 'bob', 'shared-id', { clean: false });
      assert.deepEqual((await received(bob, 400, true, 2)).sort(), [
        'room/x=inflight-ok',
        'room/x=queued-ok',
      ]);
      await leave(bob);
      // What bob could not read was dropped, not kept for alice.
      const back = await login(b.port, 'alice', 'shared-id', { clean: false });
      assert.deepEqual(await received(back, 400), []);
      back.disconnect();
      pub.disconnect();
    } finally {
      await b.stop();
    }
  });
}

test('culex: session_owner_check discards a session presented by another user (Culex only)', async () => {
  const b = await startSecure('culex', ['session_owner_check true']);
  try {
    const alice = await login(b.port, 'alice', 'owned-id', { clean: false });
    await sub(alice, 'room/#');
    await leave(alice);
    const pub = await login(b.port, 'alice', 'alice-pub');
    await publish1(pub, 'room/x', 'for-alice', 1);
    const { client: bob, connack } = await resume(b.port, 'bob', 'owned-id');
    assert.equal(connack.sessionPresent, false);
    assert.deepEqual(await received(bob, 300), []);
    await leave(bob);
    // The session is bob's now: alice resuming it finds it is not hers either.
    const { connack: again } = await resume(b.port, 'alice', 'owned-id');
    assert.equal(again.sessionPresent, false);
    pub.disconnect();
  } finally {
    await b.stop();
  }
});

test('culex: session_owner_check knows the owner of a session restored from the store', async () => {
  const b = await startSecure('culex', [
    'session_owner_check true',
    'persistence true',
    'persistence_location $DIR/',
  ]);
  try {
    const alice = await login(b.port, 'alice', 'kept-id', { clean: false });
    await sub(alice, 'room/#');
    await leave(alice);
    await b.restart();
    const { client: bob, connack } = await resume(b.port, 'bob', 'kept-id');
    assert.equal(connack.sessionPresent, false);
    bob.disconnect();
    // Her own client still resumes a session she owns.
    const mine = await login(b.port, 'alice', 'own-id', { clean: false });
    await leave(mine);
    await b.restart();
    const { client: back, connack: again } = await resume(b.port, 'alice', 'own-id');
    assert.equal(again.sessionPresent, true);
    back.disconnect();
  } finally {
    await b.stop();
  }
});
