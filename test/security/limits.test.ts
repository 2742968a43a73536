// Bounds of docs/limits.md that no other test hits: each driven over a real socket against Culex's CLI and, when
// installed, the real Mosquitto 2.0 with the very same configuration (compared, or printed where they differ).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePacket } from '../../src/protocol/encoder.js';
import { sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, startCulexProcess, startMosquitto } from '../helpers/processes.js';
import { connectPacket, publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { findTool } from '../helpers/tools.js';

const haveMosquitto = findTool('mosquitto') !== undefined;

/** Runs `scenario` on Culex, then on Mosquitto when present, and returns both outcomes (Mosquitto's or null). */
async function onBoth<T>(
  lines: readonly string[],
  scenario: (port: number, broker: BrokerProcess) => Promise<T>,
): Promise<{ culex: T; mosquitto: T | null }> {
  const run = async (start: (l: readonly string[]) => Promise<BrokerProcess>): Promise<T> => {
    const broker = await start(['allow_anonymous true', ...lines]);
    try {
      return await scenario(broker.port, broker);
    } finally {
      await broker.stop();
    }
  };
  const culex = await run(startCulexProcess);
  const mosquitto = haveMosquitto ? await run(startMosquitto) : null;
  return { culex, mosquitto };
}

function sameAsMosquitto<T>(r: { culex: T; mosquitto: T | null }): void {
  if (r.mosquitto !== null) assert.deepEqual(r.culex, r.mosquitto, 'Culex and Mosquitto answer alike');
}

const connectPacketBytes = (clientId: string): Buffer => encodePacket(connectPacket({ clientId }), 4);

/** Publishes `n` QoS 1 messages of `size` payload bytes, each acknowledged before the next. */
async function publishQos1(port: number, topic: string, n: number, size: number): Promise<void> {
  const { client } = await RawClient.connect(port, { clientId: 'limits-pub' });
  for (let i = 1; i <= n; i++) {
    client.send(publishPacket(topic, Buffer.alloc(size, 0x30 + (i % 10)), 1, i));
    await client.nextOfType(4);
  }
  client.disconnect();
}

test('message_size_limit: a larger PUBLISH is dropped; QoS 1 acknowledged with 0x95 (MQTT 5), 0 (3.1.1)', {
  timeout: 30_000,
}, async () => {
  const r = await onBoth(['message_size_limit 10', 'log_type all'], async (port, broker) => {
    const out: Record<string, unknown> = {};
    for (const version of [5, 4] as const) {
      const { client } = await RawClient.connect(port, { clientId: `lim${version}`, version });
      await subscribe(client, 1, [['t', 0]]);
      client.send(publishPacket('t', Buffer.alloc(20, 0x61), 1, 1));
      const ack = await client.next();
      assert.equal(ack.type, 4);
      client.send(publishPacket('t', Buffer.alloc(20, 0x62), 0));
      client.send(publishPacket('t', 'small', 0));
      const got = await client.collect(300, 1);
      out[`v${version}`] = {
        ack: ack.type === 4 ? ack.reasonCode : -1,
        delivered: got.map((p) => (p.type === 3 ? p.payload.toString() : p.type)),
        open: !client.isClosed,
      };
      client.disconnect();
    }
    // Mosquitto's line, at debug level (so the default log types do not show it).
    const line = "Dropped too large PUBLISH from lim5 (d0, q1, r0, m1, 't', ... (20 bytes))";
    if (broker.log().length > 0 || broker.exitStatus() === null) out.logged = broker.log().includes(line);
    return out;
  });
  assert.deepEqual(r.culex, {
    v5: { ack: 0x95, delivered: ['small'], open: true },
    v4: { ack: 0, delivered: ['small'], open: true },
    logged: true,
  });
  // Mosquitto logs to its own destination; compare the wire answers.
  if (r.mosquitto !== null) {
    assert.deepEqual({ ...r.culex, logged: undefined }, { ...r.mosquitto, logged: undefined });
  }
});

test('max_connections: a connection over the listener limit is closed before CONNECT; the others go on', {
  timeout: 30_000,
}, async () => {
  const r = await onBoth(['max_connections 1'], async (port, broker) => {
    // The start-up probe's connection may still be counted for a moment.
    await sleep(300);
    const { client: first } = await RawClient.connect(port, { clientId: 'mc-1' });
    const others = [];
    for (let i = 2; i <= 3; i++) {
      const c = await RawClient.open(port);
      c.send(connectPacketBytes(`mc-${i}`));
      others.push({ closed: await c.waitClosed(1000), answered: c.received.length > 0 });
      if (!c.isClosed) c.destroy();
    }
    first.send([0xc0, 0x00]);
    const pong = (await first.next()).type;
    first.disconnect();
    await sleep(100);
    const denied = broker.log().split('denied: max_connections exceeded.').length - 1;
    return { others, pong, denied };
  });
  const refused = { closed: true, answered: false };
  // Each refused connection leaves Mosquitto's line: `Client connection from <addr> denied: max_connections exceeded.`
  assert.deepEqual(r.culex, { others: [refused, refused], pong: 13, denied: 2 });
  // Mosquitto 2.0.11 lets one connection more in than max_connections: a deviation listed in docs/limits.md.
  if (r.mosquitto !== null) console.log(`Mosquitto: ${JSON.stringify(r.mosquitto)}`);
});

test('max_queued_bytes: messages beyond the byte budget of an offline session are dropped', {
  timeout: 30_000,
}, async () => {
  const r = await onBoth(['max_inflight_messages 1', 'max_queued_bytes 250'], async (port) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'qb', clean: false });
    await subscribe(sub, 1, [['q/#', 1]]);
    sub.disconnect();
    await sleep(100);
    await publishQos1(port, 'q/x', 10, 100);
    const { client: back } = await RawClient.connect(port, { clientId: 'qb', clean: false });
    // Acknowledge each so the whole kept queue flows; count what arrives.
    let count = 0;
    for (;;) {
      const p = await back.next(700).catch(() => null);
      if (p === null || p.type !== 3) break;
      count++;
      back.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
    }
    back.disconnect();
    return { count };
  });
  // 100-byte messages are queued while the queue holds fewer than 250 bytes: 3, as Mosquitto keeps them.
  assert.deepEqual(r.culex, { count: 3 });
  sameAsMosquitto(r);
});

test('max_inflight_bytes: no more unacknowledged QoS 1 bytes are sent than the budget allows', {
  timeout: 30_000,
}, async () => {
  const r = await onBoth(['max_inflight_bytes 150'], async (port) => {
    const { client: sub } = await RawClient.connect(port, { clientId: 'ib' });
    await subscribe(sub, 1, [['i/#', 1]]);
    await publishQos1(port, 'i/x', 5, 100);
    const before = await sub.collect(300, 1);
    // One acknowledgement frees room for more.
    const first = before[0];
    if (first?.type === 3) sub.send({ type: 4, packetId: first.packetId, reasonCode: 0 });
    const after = await sub.collect(300, 1);
    sub.disconnect();
    return { unacked: before.length, afterOneAck: after.length };
  });
  // Sent while under the budget: 0 and 100 bytes in flight, then 200 >= 150 stops. Mosquitto sent 4 of the 5
  // (a deviation listed in docs/limits.md).
  assert.deepEqual(r.culex, { unacked: 2, afterOneAck: 1 });
  if (r.mosquitto !== null) console.log(`Mosquitto: ${JSON.stringify(r.mosquitto)}`);
});

test('client id, user name and password: 65,535 bytes (the 2-byte length prefix) are accepted', {
  timeout: 30_000,
}, async () => {
  const r = await onBoth([], async (port) => {
    const long = 'c'.repeat(65_535);
    const { client, connack } = await RawClient.connect(port, {
      clientId: long,
      username: long,
      password: long,
    });
    client.send([0xc0, 0x00]);
    const pong = (await client.next()).type;
    client.disconnect();
    await waitFor(() => client.isClosed, 1000);
    return { rc: connack.reasonCode, pong };
  });
  assert.deepEqual(r.culex, { rc: 0, pong: 13 });
  sameAsMosquitto(r);
});
