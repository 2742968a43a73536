// `-v`: the debug-level packet trace ("Received PUBLISH from c (d0, q1, r0, m7, 't/1', ... (5 bytes))",
// "Sending CONNACK to c (0, 0)", …) is the one the real mosquitto 2.0.11 writes, line for line, for every packet
// type both ways, at MQTT 3.1.1 and 5.0. Both brokers run the same file and get the same conversation.
// Compared per client: across clients only QoS 2 forwarding differs (Method B, docs/compatibility.md).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import { freePort, sleep } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { findTool, requireTool } from '../helpers/tools.js';

const skip = requireTool('mosquitto');
const CONF = ['allow_anonymous true', 'message_size_limit 100'];

async function startVerbose(kind: 'mosquitto' | 'culex', lines = CONF): Promise<BrokerProcess> {
  const port = await freePort();
  const conf = writeConf(tempDir('culex-trace-'), port, lines);
  return kind === 'mosquitto'
    ? launchWith(findTool('mosquitto') ?? 'mosquitto', (c) => ['-c', c, '-v'], conf, port)
    : launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c, '-v'], conf, port);
}

/** Every packet type a broker receives or sends in a session, waiting for each answer so the order is fixed. */
async function converse(port: number, version: ProtocolVersion): Promise<void> {
  const { client: sub } = await RawClient.connect(port, { clientId: 'trace-sub', version });
  await subscribe(sub, 1, [
    ['t/#', 2],
    ['u', 1],
  ]);
  const { client: pub } = await RawClient.connect(port, {
    clientId: 'trace-pub',
    version,
    will: { topic: 'will/t', payload: 'bye', qos: 1, retain: true },
  });
  pub.send(publishPacket('t/0', 'hello'));
  pub.send(publishPacket('t/1', 'hello', 1, 7));
  await pub.nextOfType(4);
  await sub.nextOfType(3);
  const q1 = await sub.nextOfType(3);
  sub.send({ type: 4, packetId: q1.packetId, reasonCode: 0 });
  // A round trip, so the PUBACK is handled before the next message is forwarded (Culex forwards QoS 2 sooner).
  sub.send({ type: 12 });
  await sub.nextOfType(13);
  pub.send(publishPacket('t/2', 'hi', 2, 8, { retain: true }));
  await pub.nextOfType(5);
  pub.send({ type: 6, packetId: 8, reasonCode: 0 });
  await pub.nextOfType(7);
  const q2 = await sub.nextOfType(3);
  sub.send({ type: 5, packetId: q2.packetId, reasonCode: 0 });
  await sub.nextOfType(6);
  sub.send({ type: 7, packetId: q2.packetId, reasonCode: 0 });
  pub.send(publishPacket('$SYS/x', 'no', 1, 9));
  await pub.nextOfType(4);
  pub.send(publishPacket('t/big', 'x'.repeat(200), 1, 10));
  await pub.nextOfType(4);
  sub.send({ type: 10, packetId: 2, topicFilters: ['u', 'v'] });
  await sub.nextOfType(11);
  sub.send({ type: 12 });
  await sub.nextOfType(13);
  sub.send({ type: 14, reasonCode: 0 });
  pub.send({ type: 14, reasonCode: 0 });
  await Promise.all([sub.closed, pub.closed]);
}

/** The trace lines of each client, in order (a tab-indented line belongs to the line before it). */
function traceByClient(log: string): Map<string, string[]> {
  const out = new Map<string, string[]>([
    ['trace-sub', []],
    ['trace-pub', []],
  ]);
  let current: string[] | undefined;
  for (const raw of log.split('\n')) {
    const line = raw.replace(/^\d+: /, '');
    if (line.startsWith('\t')) {
      current?.push(line);
      continue;
    }
    const owner = [...out.keys()].find((id) => line.includes(id));
    current = owner === undefined ? undefined : out.get(owner);
    // Connection notices carry ports that differ between the runs; the trace lines do not.
    if (current !== undefined && !/^(New client connected|Client .* (disconnected|closed))/.test(line))
      current.push(line);
  }
  return out;
}

for (const version of [4, 5] as const) {
  test(`-v logs mosquitto's packet trace, MQTT ${version === 4 ? '3.1.1' : '5.0'}`, { skip }, async () => {
    const traces: Array<Map<string, string[]>> = [];
    for (const kind of ['mosquitto', 'culex'] as const) {
      const broker = await startVerbose(kind);
      try {
        await converse(broker.port, version);
        await sleep(100);
      } finally {
        await broker.stop();
      }
      traces.push(traceByClient(broker.log()));
    }
    const [mosquitto, culex] = traces as [Map<string, string[]>, Map<string, string[]>];
    // The oracle really traced every packet type (guards against a silent mosquitto).
    const all = [...mosquitto.values()].flat().join('\n');
    for (const word of [
      'CONNACK',
      'SUBACK',
      'PUBLISH',
      'PUBACK',
      'PUBREC',
      'PUBREL',
      'PUBCOMP',
      'UNSUBACK',
      'PINGRESP',
    ])
      assert.match(all, new RegExp(`Sending ${word} to`));
    for (const word of [
      'SUBSCRIBE',
      'PUBLISH',
      'PUBACK',
      'PUBREC',
      'PUBREL',
      'PUBCOMP',
      'UNSUBSCRIBE',
      'PINGREQ',
    ])
      assert.match(all, new RegExp(`Received ${word} from`));
    assert.match(all, /Received DISCONNECT from/);
    assert.match(mosquitto.get('trace-pub')!.join('\n'), /Denied PUBLISH .*Dropped too large PUBLISH/s);
    assert.deepEqual(culex.get('trace-sub'), mosquitto.get('trace-sub'));
    assert.deepEqual(culex.get('trace-pub'), mosquitto.get('trace-pub'));
  });
}

test('a refused CONNECT is traced with the address: the client has no id yet in mosquitto', {
  skip,
}, async () => {
  const lines: string[][] = [];
  for (const kind of ['mosquitto', 'culex'] as const) {
    const broker = await startVerbose(kind, ['allow_anonymous false']);
    try {
      for (const version of [4, 5] as const) {
        const { client } = await RawClient.connect(broker.port, { clientId: 'trace-refused', version });
        await client.closed;
      }
      await sleep(100);
    } finally {
      await broker.stop();
    }
    lines.push(
      broker
        .log()
        .split('\n')
        .filter((l) => l.includes('Sending CONNACK'))
        .map((l) => l.replace(/^\d+: /, '')),
    );
  }
  assert.deepEqual(lines[0], [
    'Sending CONNACK to 127.0.0.1 (0, 5)',
    'Sending CONNACK to 127.0.0.1 (0, 135)',
  ]);
  assert.deepEqual(lines[1], lines[0]);
});
