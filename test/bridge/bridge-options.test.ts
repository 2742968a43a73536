// Options that change what goes over the wire: remote credentials, bridge_outgoing_retain, try_private falling
// back for a broker that refuses level 0x84, and an MQTT 5 bridge's remote session surviving a stop.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { Broker } from '../../src/index.js';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { ConnectPacket, Packet } from '../../src/protocol/packets.js';
import { startBroker } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/net.js';
import { startMosquitto, tempDir } from '../helpers/processes.js';
import { findTool, requireTool } from '../helpers/tools.js';
import {
  bridgesFrom,
  bridgesUp,
  collector,
  culexWithBridges,
  publish,
  receivedCount,
} from './bridge-helpers.js';

const skip = requireTool('mosquitto', 'mosquitto_passwd');

test('remote_username / remote_password: accepted with the right password, refused once-logged otherwise', {
  skip,
}, async () => {
  const dir = tempDir();
  const pwfile = join(dir, 'passwd');
  writeFileSync(pwfile, '');
  spawnSync(findTool('mosquitto_passwd')!, ['-b', pwfile, 'bridge', 'secret']);
  const remote = await startMosquitto(['allow_anonymous false', `password_file ${pwfile}`]);
  const lines: string[] = [];
  const section = (password: string): string[] => [
    'connection auth',
    `address 127.0.0.1:${remote.port}`,
    'restart_timeout 1',
    'remote_username bridge',
    `remote_password ${password}`,
    'topic a/# out 1',
  ];
  const bad = await culexWithBridges(section('wrong'), {
    logger: { enabled: () => true, log: (level, line) => void (level !== 'debug' && lines.push(line)) },
  });
  const good = await culexWithBridges(section('secret'));
  try {
    await bridgesUp(good.bridges);
    await sleep(1500);
    assert.notEqual(bad.bridges.list()[0]?.stats.state, 'up');
    const refusals = lines.filter((l) => l.includes('Connection Refused: not authorised'));
    assert.equal(refusals.length, 1, lines.join('\n'));
  } finally {
    await bad.stop();
    await good.stop();
    await remote.stop();
  }
});

test('bridge_outgoing_retain false: the retain flag is cleared on the way out', async () => {
  const remote = await startBroker();
  const local = await culexWithBridges([
    'connection r',
    `address 127.0.0.1:${remote.port}`,
    'bridge_outgoing_retain false',
    'topic a/# out 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const far = await collector(remote.port, ['a/#'], 1, { protocolVersion: 5 });
    await far.client.subscribeAsync('a/#', { qos: 1, rap: true });
    await publish(local.port, 'a/r', 'x', 1, true);
    const [m] = await receivedCount(far, 1);
    assert.equal(m?.retain, false);
    await sleep(100);
    const late = await collector(remote.port, ['a/#'], 1);
    await sleep(200);
    assert.equal(late.received.length, 0, 'nothing retained on the remote');
    await far.end();
    await late.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('try_private: a broker refusing protocol level 0x84 gets a plain 3.1.1 CONNECT next', async () => {
  const connects: ConnectPacket[] = [];
  const server = createServer((socket) => {
    const decoder = new PacketDecoder({ connectFirst: true });
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) =>
      decoder.push(chunk, {
        onPacket: (p: Packet) => {
          if (p.type !== 1) return;
          connects.push(p);
          socket.write(encodePacket({ type: 2, sessionPresent: false, reasonCode: p.bridge ? 1 : 0 }, 4));
          if (p.bridge) socket.end();
        },
        onDecodeError: () => socket.destroy(),
      }),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const local = await culexWithBridges([
    'connection tp',
    `address 127.0.0.1:${port}`,
    'restart_timeout 1',
    'topic a/# out 0',
  ]);
  try {
    assert.ok(await waitFor(() => connects.length >= 2, 3000));
    assert.deepEqual(
      connects.slice(0, 2).map((c) => [c.protocolVersion, c.bridge === true]),
      [
        [4, true],
        [4, false],
      ],
    );
  } finally {
    await local.stop();
    server.close();
  }
});

test('MQTT 5 bridge: the remote session outlives a stop, what it queued arrives after the restart', async () => {
  const remote = await startBroker();
  const lines = [
    'connection s5',
    `address 127.0.0.1:${remote.port}`,
    'bridge_protocol_version mqttv50',
    'bridge_session_expiry_interval 60',
    'restart_timeout 1',
    'topic in/# in 1',
  ];
  const local = await culexWithBridges(lines);
  try {
    await bridgesUp(local.bridges);
    local.bridges.remove('s5');
    await sleep(100);
    await publish(remote.port, 'in/held', 'kept for the bridge', 1);
    const near = await collector(local.port, ['in/#'], 1);
    local.bridges.add(bridgesFrom(lines)[0]!);
    const [m] = await receivedCount(near, 1);
    assert.equal(m?.payload, 'kept for the bridge');
    await near.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('MQTT 5 remote with Maximum QoS 1: a QoS 2 topic is bridged at QoS 1, the link stays up', async () => {
  const remote = new Broker({ options: { connectionMessages: false } });
  const [listener] = await remote.listen([{ port: 0, host: '127.0.0.1', maxQos: 1 }]);
  const port = listener!.port;
  const local = await culexWithBridges([
    'connection mq',
    `address 127.0.0.1:${port}`,
    'bridge_protocol_version mqttv50',
    'restart_timeout 1',
    'topic q/# out 2',
  ]);
  try {
    await bridgesUp(local.bridges);
    const far = await collector(port, ['q/#'], 1);
    await publish(local.port, 'q/1', 'two', 2);
    await publish(local.port, 'q/2', 'two again', 2);
    const got = await receivedCount(far, 2);
    assert.deepEqual(
      got.map((m) => m.qos),
      [1, 1],
    );
    assert.equal(local.bridges.list()[0]?.stats.connects, 1);
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('mqttv31 bridge to Mosquitto: MQIsdp CONNECT with try_private, messages flow', { skip }, async () => {
  const remote = await startMosquitto(['allow_anonymous true']);
  const local = await culexWithBridges([
    'connection v31',
    `address 127.0.0.1:${remote.port}`,
    'bridge_protocol_version mqttv31',
    'remote_clientid v31-bridge',
    'restart_timeout 1',
    'topic old/# both 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const far = await collector(remote.port, ['old/#'], 1);
    const near = await collector(local.port, ['old/#'], 1);
    await publish(local.port, 'old/out', 'o', 1);
    await publish(remote.port, 'old/in', 'i', 1);
    await receivedCount(far, 2);
    await receivedCount(near, 2);
    await sleep(300);
    assert.deepEqual([far.received.length, near.received.length], [2, 2]);
    await far.end();
    await near.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('bridge_attempt_unsubscribe: out-only topics are unsubscribed on the remote, unless false', async () => {
  const remote = await startBroker();
  const unsubscribed: string[] = [];
  remote.broker.on('unsubscribe', (client: { clientId: string }, filter: string) =>
    unsubscribed.push(`${client.clientId} ${filter}`),
  );
  const section = (name: string, attempt: boolean): string[] => [
    `connection ${name}`,
    `address 127.0.0.1:${remote.port}`,
    `remote_clientid ${name}`,
    `bridge_attempt_unsubscribe ${attempt}`,
    'topic u/# out 1',
    'topic v/# in 1',
  ];
  // Sessions that still hold u/# from a time when it was an `in` topic.
  for (const id of ['yes', 'no']) {
    const old = await collector(remote.port, ['u/#'], 1, { clientId: id, clean: false });
    await old.end();
  }
  const local = await culexWithBridges([...section('yes', true), ...section('no', false)]);
  try {
    await bridgesUp(local.bridges);
    await sleep(200);
    assert.deepEqual(unsubscribed, ['yes u/#']);
  } finally {
    await local.stop();
    await remote.stop();
  }
});
