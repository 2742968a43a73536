// Wills and the ACL: a will goes out only if the client that set it may write its topic when it is published
// (its connection is gone by then), and a will larger than message_size_limit refuses the CONNECT. Mosquitto
// 2.0.11 accepts a CONNECT whose will topic it denies (CONNACK 0) and checks at publication; both brokers run.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectPacket, RawClient } from '../helpers/raw-client.js';
import { drop, kinds, login, received, startSecure, sub } from './acl-fixture.js';

const ROOM_Y = 'user alice\ntopic readwrite #\n\nuser bob\ntopic readwrite room/x\ntopic write room/y\n';

for (const kind of kinds()) {
  test(`${kind}: a will to a topic its client may not write is accepted at CONNECT and never published`, async () => {
    const b = await startSecure(kind);
    try {
      const watcher = await login(b.port, 'alice', 'watcher');
      await sub(watcher, 'room/#');
      for (const version of [4, 5] as const) {
        const denied = await login(b.port, 'bob', `bob-w${version}`, {
          version,
          will: { topic: 'room/secret', payload: 'denied' },
        });
        const allowed = await login(b.port, 'bob', `bob-a${version}`, {
          version,
          will: { topic: 'room/x', payload: `allowed${version}` },
        });
        await drop(denied);
        await drop(allowed);
      }
      assert.deepEqual(await received(watcher, 300, true, 2), ['room/x=allowed4', 'room/x=allowed5']);
      watcher.disconnect();
    } finally {
      await b.stop();
    }
  });

  test(`${kind}: the will's topic is checked when it is published, with the ACL in force then`, async () => {
    const b = await startSecure(kind);
    try {
      const watcher = await login(b.port, 'alice', 'watcher');
      await sub(watcher, 'room/#');
      const toY = await login(b.port, 'bob', 'bob-y', { will: { topic: 'room/y', payload: 'y' } });
      const toX = await login(b.port, 'bob', 'bob-x', { will: { topic: 'room/x', payload: 'x' } });
      // Now bob may write room/y but no longer room/x.
      await b.reloadAcl(ROOM_Y.replace('topic readwrite room/x\n', ''));
      await drop(toY);
      await drop(toX);
      assert.deepEqual(await received(watcher, 300, true, 1), ['room/y=y']);
      watcher.disconnect();
    } finally {
      await b.stop();
    }
  });

  test(`${kind}: a delayed MQTT 5 will is checked when its delay ends, against the ACL then`, async () => {
    const b = await startSecure(kind);
    try {
      const watcher = await login(b.port, 'alice', 'watcher');
      await sub(watcher, 'room/#');
      const delayed = async (clientId: string, topic: string): Promise<RawClient> => {
        const c = await RawClient.open(b.port);
        c.version = 5;
        const packet = connectPacket({ version: 5, clientId, username: 'bob', password: 'bpw' });
        packet.properties = { sessionExpiryInterval: 30 };
        packet.will = {
          topic,
          payload: Buffer.from(clientId),
          qos: 0,
          retain: false,
          properties: { willDelayInterval: 1 },
        };
        c.send(packet);
        const ack = await c.next();
        assert.equal(ack.type === 2 ? ack.reasonCode : -1, 0);
        return c;
      };
      const toY = await delayed('late-y', 'room/y');
      const toX = await delayed('late-x', 'room/x');
      await drop(toY);
      await drop(toX);
      // While the wills wait, bob gains room/y and loses room/x.
      await b.reloadAcl(ROOM_Y.replace('topic readwrite room/x\n', ''));
      assert.deepEqual(await received(watcher, 2000, true, 1), ['room/y=late-y']);
      watcher.disconnect();
    } finally {
      await b.stop();
    }
  });

  test(`${kind}: a will payload over message_size_limit refuses the CONNECT (3.1.1: 5, MQTT 5: 0x95)`, async () => {
    const b = await startSecure(kind, ['message_size_limit 10']);
    try {
      for (const [version, code] of [
        [3, 5],
        [4, 5],
        [5, 0x95],
      ] as const) {
        const c = await RawClient.open(b.port);
        c.version = version;
        c.send(
          connectPacket({
            version,
            clientId: `big${version}`,
            username: 'bob',
            password: 'bpw',
            will: { topic: 'room/x', payload: '0123456789A' },
          }),
        );
        const ack = await c.next();
        assert.equal(ack.type, 2);
        assert.equal(ack.type === 2 ? ack.reasonCode : -1, code, `MQTT level ${version}`);
        assert.equal(await c.waitClosed(), true);
        // Exactly at the limit is fine.
        const ok = await login(b.port, 'bob', `fits${version}`, {
          version,
          will: { topic: 'room/x', payload: '0123456789' },
        });
        ok.disconnect();
      }
      if (kind === 'culex') assert.match(b.log(), /Client <unknown> disconnected due to oversize payload\./);
    } finally {
      await b.stop();
    }
  });
}
