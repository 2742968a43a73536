// The Node.js private Socket internals the TCP listener relies on (src/transport/socket-internals.ts), and what an
// idle or closed connection (TCP or WebSocket) keeps in memory. The first two tests fail loudly on a Node release that renames or
// drops those internals: the broker would keep working, silently slower and larger.

import assert from 'node:assert/strict';
import type { IncomingMessage, Server } from 'node:http';
import { createConnection, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import type { Connection } from '../../src/broker/connection.js';
import { Broker } from '../../src/index.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { readsIntoOwnBuffers } from '../../src/transport/socket-internals.js';
import { startBroker } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/net.js';
import { tempDir } from '../helpers/processes.js';
import { connectPacket, RawClient } from '../helpers/raw-client.js';

function onlyConnection(connections: Iterable<Connection>): Connection {
  const all = [...connections];
  assert.equal(all.length, 1);
  return all[0]!;
}

test('an accepted Unix socket (net.Socket) reads into the listener buffers (Node private kBuffer / kBufferCb / kBufferGen)', async () => {
  // Plain TCP connections are served without a net.Socket (tcp-stream.test.ts); Unix sockets and PROXY listeners
  // still get one, switched to the same read buffers.
  const path = join(tempDir('culex-reads-'), 'culex.sock');
  const broker = new Broker({ options: { connectionMessages: false } });
  await broker.listen([{ port: 0, unixSocketPath: path }]);
  const socket = createConnection(path);
  try {
    const replies: Buffer[] = [];
    socket.on('data', (d: Buffer) => replies.push(d));
    socket.write(encodePacket(connectPacket({ clientId: 'reader' }), 4));
    assert.ok(await waitFor(() => replies.length > 0));
    const conn = onlyConnection(broker.internals.connections);
    assert.equal(
      readsIntoOwnBuffers(conn.stream as Socket),
      true,
      `Node ${process.version} changed the Socket read-buffer fields behind the onread option: update socket-internals.ts`,
    );
    // Still a working connection: a PINGREQ read through those buffers is answered.
    socket.write(Buffer.from([0xc0, 0]));
    assert.ok(await waitFor(() => Buffer.concat(replies).includes(Buffer.from([0xd0, 0]))));
  } finally {
    socket.destroy();
    await broker.stop();
  }
});

test("the peer address is read from the socket's handle, without Node's cached copy on the socket", async () => {
  const b = await startBroker();
  try {
    const { client } = await RawClient.connect(b.port, { clientId: 'addressed' });
    const conn = onlyConnection(b.broker.internals.connections);
    assert.equal(conn.remoteAddress, `127.0.0.1:${client.socket.localPort}`);
    // The cache `socket.remoteAddress` would create (an object and a string per idle connection).
    assert.equal(
      (conn.stream as unknown as { _peername?: unknown })._peername,
      undefined,
      `Node ${process.version}: the TCP handle's getpeername is gone or the address came from socket.remoteAddress`,
    );
    client.socket.destroy();
  } finally {
    await b.stop();
  }
});

test('a client that disconnected is not kept in memory after its socket closed (no 2 s linger timer)', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const b = await startBroker();
  try {
    const { client } = await RawClient.connect(b.port, { clientId: 'leaving' });
    const ref = new WeakRef(onlyConnection(b.broker.internals.connections));
    client.send([0xe0, 0]);
    assert.equal(await client.waitClosed(), true);
    client.socket.destroy();
    assert.ok(await waitFor(() => b.broker.internals.connections.size === 0));
    // Let the close callbacks of this turn finish, then look.
    await sleep(50);
    gc();
    assert.equal(ref.deref(), undefined, 'the closed connection (and its socket) is still reachable');
  } finally {
    await b.stop();
  }
});

test('an idle WebSocket client does not keep its HTTP upgrade request (headers and all) in memory', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const broker = new Broker({ options: { connectionMessages: false } });
  const [listener] = await broker.listen([{ port: 0, host: '127.0.0.1', protocol: 'websockets' }]);
  const ws = new WebSocket(`ws://127.0.0.1:${listener!.port}/mqtt`, 'mqtt');
  try {
    let request: WeakRef<IncomingMessage> | undefined;
    (listener as unknown as { server: Server }).server.on('upgrade', (req: IncomingMessage) => {
      request = new WeakRef(req);
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const connack = new Promise<Buffer>((resolve) => ws.once('message', resolve));
    // CONNECT, MQTT 3.1.1, clean session, keepalive 60, client id "w".
    ws.send(Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x77]));
    assert.deepEqual([...(await connack)], [0x20, 2, 0, 0]);
    await sleep(50);
    gc();
    assert.ok(request !== undefined);
    assert.equal(
      request.deref(),
      undefined,
      'the upgrade request is still reachable from the open connection',
    );
  } finally {
    ws.terminate();
    await broker.stop();
  }
});
