// A WebSocket client (MQTTX, a browser) pointed at a plain MQTT listener: mosquitto 2.0.11 closes the connection
// as a protocol error; Culex closes it too, and its log line says to add "protocol websockets" there.

import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { test } from 'node:test';
import { sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, startCulexProcess, startMosquitto } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('mosquitto');

function upgradeRequest(port: number): string {
  return (
    `GET /mqtt HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n'
  );
}

/** Sends the upgrade request; resolves with the bytes received once the broker closes the socket. */
function sendUpgrade(port: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the broker kept the connection open'));
    }, 3000);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks));
    });
    socket.connect(port, '127.0.0.1', () => socket.write(upgradeRequest(port)));
  });
}

test('an HTTP upgrade on a plain MQTT listener is closed, and the log says to add "protocol websockets"', {
  skip,
}, async () => {
  const brokers: BrokerProcess[] = [await startMosquitto(['allow_anonymous true', 'log_type all'])];
  brokers.push(await startCulexProcess(['allow_anonymous true', 'log_type all']));
  try {
    const [mosquitto, culex] = brokers as [BrokerProcess, BrokerProcess];
    const answers = [await sendUpgrade(mosquitto.port), await sendUpgrade(culex.port)];
    // Neither answers anything: no HTTP response, no MQTT packet.
    assert.deepEqual(answers, [Buffer.alloc(0), Buffer.alloc(0)]);
    assert.ok(await waitFor(() => /disconnected due to protocol error/.test(mosquitto.log())));
    assert.ok(await waitFor(() => /protocol websockets/.test(culex.log())), culex.log());
    const line =
      culex
        .log()
        .split('\n')
        .find((l) => l.includes('protocol websockets')) ?? '';
    assert.match(line, /HTTP request/);
    assert.match(line, new RegExp(`"listener ${culex.port}"`));
    // Not mistaken for a malformed MQTT packet.
    await sleep(50);
    assert.doesNotMatch(culex.log(), /protocol error/);
  } finally {
    await Promise.all(brokers.map((b) => b.stop()));
  }
});
