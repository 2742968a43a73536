// The small packets one event-loop turn writes to a connection reach its stream as one chunk
// (src/broker/output-join.ts), in their order, with larger packets written as they are between them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet } from '../../src/protocol/packets.js';
import { withBroker } from '../helpers/broker.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

const COUNT = 200;
/** Message LARGE_AT carries a payload above the join limit: it is written on its own, between the others. */
const LARGE_AT = 120;

test('one turn of 200 QoS 0 deliveries to a subscriber is a few stream writes, in order', async () => {
  await withBroker({}, async ({ port, broker }) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'sub' });
    await subscribe(sub, 1, [['join/t', 0]]);
    const { client: pub } = await RawClient.connect(port, { clientId: 'pub' });
    const stream = broker.internals.sessions.get('sub')!.connection!.stream;
    let writes = 0;
    const write = stream.write.bind(stream) as (chunk: Buffer) => boolean;
    stream.write = ((chunk: Buffer) => {
      writes++;
      return write(chunk);
    }) as typeof stream.write;
    // All the PUBLISHes in one TCP write: the broker reads them in one chunk and routes them in one turn.
    const packets: Packet[] = [];
    for (let i = 0; i < COUNT; i++) {
      const body = Buffer.alloc(i === LARGE_AT ? 3000 : 16, 0x61);
      body.writeUInt32BE(i, 0);
      packets.push(publishPacket('join/t', body, 0));
    }
    pub.send(Buffer.concat(packets.map((p) => encodePacket(p, 4))));
    const seen: number[] = [];
    while (seen.length < COUNT) {
      const p = await sub.next(5000);
      if (p.type === 3) seen.push(p.payload.readUInt32BE(0));
    }
    assert.deepEqual(
      seen,
      Array.from({ length: COUNT }, (_, i) => i),
    );
    // Joined before the large message, the large message itself, joined after it (one read chunk may also
    // arrive in two pieces): without joining this is one write per delivery.
    assert.ok(writes <= 6, `${writes} stream writes for ${COUNT} deliveries`);
    assert.equal(broker.stats.dropped, 0);
    sub.destroy();
    pub.destroy();
  });
});
