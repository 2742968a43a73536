// A store whose commit is asynchronous (a store across the network): group commit holds the acknowledgement
// until the commit's promise settles, and drops the connection when it fails (src/broker/group-commit.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PersistenceStore, RestoredState } from '../../src/ports/persistence.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribePacket } from '../helpers/raw-client.js';

/** Records nothing, but every write makes the turn's output wait for a commit the test settles by hand. */
class RemoteStore implements PersistenceStore {
  readonly durable = true;
  readonly description = 'remote';
  pending = false;
  holdsOutput = false;
  readonly commits: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private listener: (() => void) | undefined;

  onPending(listener: () => void): void {
    this.listener = listener;
  }
  load(): RestoredState {
    return { sessions: [], subscriptions: [], deliveries: [], incomingQos2: [], retained: [], wills: [] };
  }
  private write(): void {
    this.holdsOutput = true;
    if (this.pending) return;
    this.pending = true;
    this.listener?.();
  }
  commit(): Promise<void> {
    this.pending = false;
    this.holdsOutput = false;
    return new Promise((resolve, reject) => this.commits.push({ resolve, reject }));
  }
  saveSession(): void {}
  deleteSession(): void {}
  saveSubscription(): void {}
  deleteSubscription(): void {}
  addDelivery(): void {}
  updateDelivery(): void {}
  removeDelivery(): void {}
  addIncomingQos2(): void {}
  removeIncomingQos2(): void {}
  setRetained(): void {
    this.write();
  }
  saveWill(): void {}
  deleteWill(): void {}
  close(): void {}
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

test('an asynchronous commit holds the PUBACK it covers until it resolves', async () => {
  const store = new RemoteStore();
  await withBroker({ store }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'p' });
    client.send(publishPacket('kept', 'v', 1, 5, { retain: true }));
    await until(() => store.commits.length === 1, 'the commit');
    await assert.rejects(client.nextRaw(100), /no packet/, 'no PUBACK before the commit is durable');
    store.commits[0]!.resolve();
    const ack = await client.next();
    assert.deepEqual([ack.type, 'packetId' in ack ? ack.packetId : undefined], [4, 5]);
    client.socket.destroy();
  });
});

test('a failed asynchronous commit withholds the PUBACK and drops the connection', async () => {
  const store = new RemoteStore();
  await withBroker({ store }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'p' });
    client.send(publishPacket('kept', 'v', 1, 6, { retain: true }));
    await until(() => store.commits.length === 1, 'the commit');
    store.commits[0]!.reject(new Error('network down'));
    await until(() => client.isClosed, 'the connection to be dropped');
    assert.equal(
      client.received.some((b) => b[0] === 0x40),
      false,
      'a PUBACK got out',
    );
  });
});

/** The packet ids of the PUBACKs received so far. */
function pubacks(client: RawClient): number[] {
  const bytes = Buffer.concat(client.received);
  const ids: number[] = [];
  // Small packets only here: one byte of remaining length.
  for (let off = 0; off + 1 < bytes.length; off += 2 + bytes[off + 1]!)
    if (bytes[off] === 0x40) ids.push(bytes.readUInt16BE(off + 2));
  return ids;
}

test('a PUBACK of a later turn waits for its own commit, not for the earlier one still running', async () => {
  const store = new RemoteStore();
  await withBroker({ store }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'p' });
    client.send(publishPacket('kept', 'a', 1, 5, { retain: true }));
    await until(() => store.commits.length === 1, 'the first commit');
    // Next turn, while the first commit runs: its PUBACK must not ride out with the first one.
    client.send(publishPacket('kept', 'b', 1, 6, { retain: true }));
    await until(() => store.commits.length === 2, 'the second commit');
    store.commits[0]!.resolve();
    await until(() => pubacks(client).length === 1, 'the first PUBACK');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(pubacks(client), [5], 'PUBACK 6 before its commit was durable');
    store.commits[1]!.resolve();
    await until(() => pubacks(client).length === 2, 'the second PUBACK');
    assert.deepEqual(pubacks(client), [5, 6]);
    client.socket.destroy();
  });
});

test('acknowledgements leave in commit order even when a later commit settles first', async () => {
  const store = new RemoteStore();
  await withBroker({ store }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'p' });
    client.send(publishPacket('kept', 'a', 1, 7, { retain: true }));
    await until(() => store.commits.length === 1, 'the first commit');
    client.send(publishPacket('kept', 'b', 1, 8, { retain: true }));
    await until(() => store.commits.length === 2, 'the second commit');
    store.commits[1]!.resolve();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(pubacks(client), [], 'a PUBACK before the first commit was durable');
    store.commits[0]!.resolve();
    await until(() => pubacks(client).length === 2, 'both PUBACKs');
    assert.deepEqual(pubacks(client), [7, 8]);
    client.socket.destroy();
  });
});

test('output of a later turn (PINGRESP) leaves behind the PUBACK held for an earlier commit, not before it', async () => {
  const store = new RemoteStore();
  await withBroker({ store }, async ({ port }) => {
    const { client } = await RawClient.connect(port, { clientId: 'p' });
    const after = () => Buffer.concat(client.received).subarray(4); // past the CONNACK
    client.send(publishPacket('kept', 'a', 1, 9, { retain: true }));
    await until(() => store.commits.length === 1, 'the commit');
    // A later turn that writes nothing to the store: its PINGRESP needs no commit but must not overtake.
    client.send(Buffer.from([0xc0, 0x00]));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(after().length, 0, 'output before the commit was durable');
    store.commits[0]!.resolve();
    await until(() => after().length >= 6, 'PUBACK and PINGRESP');
    const bytes = after();
    assert.deepEqual([bytes[0], bytes.readUInt16BE(2), bytes[4]], [0x40, 9, 0xd0], bytes.toString('hex'));
    client.socket.destroy();
  });
});

/** A subscriber to `kept` at `qos` (3.1.1, or MQTT 5), then a publisher whose retained PUBLISH at `qos` needs a commit. */
async function deliveryDuringCommit(store: RemoteStore, port: number, qos: 1 | 2, protocolVersion: 4 | 5) {
  const { client: sub } = await RawClient.connect(port, { clientId: 's', version: protocolVersion });
  sub.send(subscribePacket(1, [['kept', qos]]));
  await sub.nextOfType(9);
  const { client: pub } = await RawClient.connect(port, { clientId: 'p' });
  pub.send(publishPacket('kept', 'v', qos, 3, { retain: true }));
  await until(() => store.commits.length === 1, 'the commit');
  return { sub, pub };
}

for (const protocolVersion of [4, 5] as const) {
  test(`a QoS 1 delivery leaves before the commit of its turn; the publisher's PUBACK waits for it [MQTT-4.3.2-2] (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'})`, async () => {
    const store = new RemoteStore();
    await withBroker({ store }, async ({ port }) => {
      const { sub, pub } = await deliveryDuringCommit(store, port, 1, protocolVersion);
      const delivered = await sub.next(1000);
      assert.deepEqual([delivered.type, 'qos' in delivered ? delivered.qos : undefined], [3, 1]);
      await assert.rejects(pub.nextRaw(100), /no packet/, 'no PUBACK before the commit is durable');
      store.commits[0]!.resolve();
      assert.equal((await pub.next()).type, 4);
      sub.socket.destroy();
      pub.socket.destroy();
    });
  });
}

test('a QoS 2 delivery waits for the commit of its turn, as the PUBREC to its publisher does [MQTT-4.3.3-2]', async () => {
  const store = new RemoteStore();
  await withBroker({ store }, async ({ port }) => {
    const { sub, pub } = await deliveryDuringCommit(store, port, 2, 4);
    await assert.rejects(sub.nextRaw(100), /no packet/, 'no QoS 2 PUBLISH before the commit is durable');
    store.commits[0]!.resolve();
    const delivered = await sub.next();
    assert.deepEqual([delivered.type, 'qos' in delivered ? delivered.qos : undefined], [3, 2]);
    assert.equal((await pub.next()).type, 5, 'PUBREC');
    sub.socket.destroy();
    pub.socket.destroy();
  });
});
