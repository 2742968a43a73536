// A WebSocket conformance check shared by the 3.1.1 and 5.0 suites: subprotocol selection and packets that are
// split over, or packed into, WebSocket frames.

import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Broker } from '../../src/index.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import { connectPacket, decodeFrame, frameSize } from '../helpers/raw-client.js';

export async function websocketCheck(version: ProtocolVersion): Promise<void> {
  const broker = new Broker({ options: { connectionMessages: false } });
  try {
    const [l] = await broker.listen([{ port: 0, host: '127.0.0.1', protocol: 'websockets' }]);
    assert.ok(l !== undefined);
    // The client offers another subprotocol first: the server must still select "mqtt".
    const ws = new WebSocket(`ws://127.0.0.1:${l.port}/`, ['chat', 'mqtt']);
    const frames: Buffer[] = [];
    const binaries: boolean[] = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      frames.push(data);
      binaries.push(isBinary);
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    assert.equal(ws.protocol, 'mqtt');
    // CONNECT one byte per frame, then two PINGREQs in a single frame.
    for (const byte of encodePacket(connectPacket({ clientId: `ws${version}`, version }), version)) {
      ws.send(Buffer.from([byte]));
    }
    ws.send(Buffer.from([0xc0, 0, 0xc0, 0]));
    const deadline = Date.now() + 3000;
    const bytes = (): Buffer => Buffer.concat(frames);
    while (bytes().length < 8 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    let all = bytes();
    const packets = [];
    while (all.length > 0 && frameSize(all) > 0) {
      const n = frameSize(all);
      packets.push(decodeFrame(all.subarray(0, n), version));
      all = all.subarray(n);
    }
    assert.deepEqual(
      packets.map((p) => p.type),
      [2, 13, 13],
    );
    assert.ok(packets[0]?.type === 2 && packets[0].reasonCode === 0);
    assert.ok(binaries.every(Boolean), 'the server sends binary frames only');
    ws.close();
  } finally {
    await broker.stop();
  }
}
