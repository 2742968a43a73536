// A store whose commit is asynchronous (a store across the network): group commit holds the acknowledgement
// until the commit's promise settles, and drops the connection when it fails (src/broker/group-commit.ts).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PersistenceStore, RestoredState } from '../../src/ports/persistence.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient } from '../helpers/raw-client.js';

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
