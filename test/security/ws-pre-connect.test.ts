// Before CONNACK a WebSocket client may make the broker buffer only a bounded number of bytes: `ws` keeps a message
// until it is complete (up to 256 MiB), so the bound is applied to the raw socket until the broker first answers.

import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { Broker } from '../../src/index.js';
import { WS_PRE_CONNACK_BYTES } from '../../src/transport/ws-preconnack-guard.js';

async function wsBroker(): Promise<{ broker: Broker; port: number }> {
  const broker = new Broker({ options: { connectionMessages: false } });
  const [l] = await broker.listen([{ port: 0, host: '127.0.0.1', protocol: 'websockets' }]);
  return { broker, port: l!.port };
}

/** Completes a WebSocket upgrade by hand and returns the raw socket. */
function upgrade(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
          'Sec-WebSocket-Protocol: mqtt\r\n\r\n',
      );
    });
    socket.once('data', (d) =>
      d.toString().startsWith('HTTP/1.1 101') ? resolve(socket) : reject(new Error(d.toString())),
    );
    socket.once('error', reject);
  });
}

test('a WebSocket client that streams a huge first message is cut off after the pre-CONNACK bound', async () => {
  const { broker, port } = await wsBroker();
  try {
    const socket = await upgrade(port);
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    // A masked binary frame announcing 100 MB, then 6 MiB of it: a CONNECT header first, as an attacker would.
    const header = Buffer.alloc(14);
    header[0] = 0x82;
    header[1] = 0x80 | 127;
    header.writeBigUInt64BE(100_000_000n, 2);
    socket.write(header);
    const chunk = Buffer.alloc(64 * 1024, 0x10);
    let sent = 0;
    while (!closed && sent < 6 * 1024 * 1024) {
      if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r).once('close', r));
      sent += chunk.length;
    }
    const deadline = Date.now() + 3000;
    while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(closed, `socket still open after ${sent} bytes (bound ${WS_PRE_CONNACK_BYTES})`);
  } finally {
    await broker.stop();
  }
});

test('after CONNACK a WebSocket client may send a message larger than the pre-CONNACK bound', async () => {
  const { broker, port } = await wsBroker();
  try {
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}`, { clientId: 'big', reconnectPeriod: 0 });
    await client.subscribeAsync('big/t', { qos: 1 });
    const payload = Buffer.alloc(WS_PRE_CONNACK_BYTES + 1024 * 1024, 7);
    const got = new Promise<number>((resolve) => client.on('message', (_t, p) => resolve(p.length)));
    await client.publishAsync('big/t', payload, { qos: 1 });
    assert.equal(await got, payload.length);
    await client.endAsync();
  } finally {
    await broker.stop();
  }
});
