// A takeover while the old owner's inbox holds a large backlog (a slow reader: thousands of entries for other
// subscribers): the request goes through the control stream, so the session moves before that backlog is read,
// and the inbox barrier makes the old node handle first the entries written before it that carry messages for the
// session, so nothing forwarded (and acknowledged) before the takeover is lost, and the order holds.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { startNode, type TestNode } from '../helpers/cluster-nodes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { redisForFile, requireRedis } from '../helpers/redis.js';

const skip = requireRedis();
const redis = redisForFile(skip);

/** Entries queued in node a's inbox behind the session's messages (each costs its reader READ_DELAY_MS). */
const BACKLOG = 3000;
const READ_DELAY_MS = 2;

const v5 = (clientId: string) => ({
  clientId,
  clean: false,
  version: 5 as const,
  properties: { sessionExpiryInterval: 300 },
});

async function acked(c: RawClient, packetId: number): Promise<void> {
  for (;;) {
    const p = await c.next();
    if (p.type === 4 && (p as { packetId: number }).packetId === packetId) return;
  }
}

function payloads(packets: readonly { type: number }[]): string[] {
  return packets.filter((p): p is PublishPacket => p.type === 3).map((p) => p.payload.toString());
}

test('a takeover completes before the old owner drains its inbox backlog, and loses nothing forwarded before it', {
  skip,
  timeout: 60_000,
}, async () => {
  const prefix = 'tb1:';
  const a: TestNode = await startNode('a', redis.url, prefix);
  const b: TestNode = await startNode('b', redis.url, prefix);
  try {
    const old = (await RawClient.connect(a.port, v5('x'))).client;
    await subscribe(old, 1, [['x/t', 1]]);
    const pub = (await RawClient.connect(b.port, { clientId: 'p' })).client;
    // Until node b knows node a's route: "0" reaches x through a's inbox.
    let id = 0;
    for (;;) {
      pub.send(publishPacket('x/t', '0', 1, ++id));
      await acked(pub, id);
      if (payloads(await old.collect(100)).includes('0')) break;
    }
    const link = a.broker.cluster!.link;
    const inbox = link.keys.inbox('a');
    // Node a's reader now takes READ_DELAY_MS per entry: its inbox fills.
    link.readGate = () => new Promise((resolve) => setTimeout(resolve, READ_DELAY_MS));
    const filler = async (n: number): Promise<void> => {
      const p = link.redis.pipeline();
      for (let i = 0; i < n; i++) p.xadd(inbox, '*', 'k', 'filler', 'f', 't', 'b', '');
      await p.exec();
    };
    // "1" and "2", acknowledged to their publisher, wait in a's inbox: "2" behind 200 entries, then the backlog.
    pub.send(publishPacket('x/t', '1', 1, ++id));
    await acked(pub, id);
    await filler(200);
    pub.send(publishPacket('x/t', '2', 1, ++id));
    await acked(pub, id);
    await filler(BACKLOG);

    const { client: fresh, connack } = await RawClient.connect(b.port, v5('x'));
    const left = await link.redis.xlen(inbox);
    assert.equal(connack.reasonCode, 0);
    assert.equal(connack.sessionPresent, true);
    assert.ok(left > BACKLOG / 2, `the takeover waited for the backlog: ${left} entries left in a's inbox`);
    assert.equal(a.broker.internals.sessions.has('x'), false, 'node a gave the session up');
    pub.send(publishPacket('x/t', '3', 1, ++id));
    await acked(pub, id);
    // Every message forwarded before the takeover comes, in order, before the one published after it.
    const got = payloads(await fresh.collect(500)).filter((p) => p !== '0');
    assert.deepEqual([...new Set(got)], ['1', '2', '3']);
    pub.disconnect();
    fresh.disconnect();
    old.disconnect();
  } finally {
    await a.stop();
    await b.stop();
  }
});
