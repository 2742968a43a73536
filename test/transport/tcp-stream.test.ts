// TcpStream (src/transport/tcp-stream.ts): accepted TCP connections served straight from their libuv handle,
// with net.Socket's semantics for what a Connection uses. The first test fails loudly on a Node release that
// changes the private internals behind it (the listener would fall back to net.Socket: slower and larger).

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import type { StreamOwner } from '../../src/broker/stream-listeners.js';
import { rawTcp } from '../../src/transport/tcp-handle.js';
import { acceptRaw, isTcpStream, type TcpStream } from '../../src/transport/tcp-stream.js';
import { startBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/net.js';
import { RawClient } from '../helpers/raw-client.js';

test('a plain TCP connection is served from its TCP handle, without a net.Socket (Node private stream_wrap, TCPWrap)', async () => {
  assert.notEqual(
    rawTcp,
    null,
    `Node ${process.version}: process.binding('stream_wrap') / ('uv') changed: update src/transport/tcp-handle.ts`,
  );
  const b = await startBroker();
  try {
    const { client } = await RawClient.connect(b.port, { clientId: 'raw' });
    const [conn] = [...b.broker.internals.connections];
    assert.ok(
      isTcpStream(conn?.stream),
      `Node ${process.version}: the accept hook or the TCP handle's methods changed: update tcp-stream.ts`,
    );
    // A working connection: a PINGREQ is answered, and the byte counters the $SYS totals read are kept.
    client.send([0xc0, 0]);
    assert.equal((await client.next()).type, 13);
    const stream = conn!.stream as TcpStream;
    assert.equal(stream.bytesRead, client.socket.bytesWritten);
    assert.equal(stream.bytesWritten, 4 + 2);
    client.socket.destroy();
  } finally {
    await b.stop();
  }
});

interface Served {
  server: Server;
  port: number;
  streams: TcpStream[];
  events: string[];
}

/** A server whose connections are TcpStreams; each records its events and echoes nothing. */
async function serve(setup: (s: TcpStream, events: string[]) => void = () => {}): Promise<Served> {
  const server = createServer(() => assert.fail('a net.Socket was made'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const served: Served = {
    server,
    port: (server.address() as { port: number }).port,
    streams: [],
    events: [],
  };
  const accepted = acceptRaw(server, true, (stream) => {
    served.streams.push(stream);
    const owner: StreamOwner = {
      onData: (chunk) => served.events.push(`data ${chunk.length}`),
      onStreamError: (err) => served.events.push(`error ${err.message}`),
      onStreamClosed: () => served.events.push('close'),
      onDrain: () => served.events.push('drain'),
    };
    stream.adopt(owner);
    setup(stream, served.events);
  });
  assert.equal(accepted, true);
  return served;
}

async function client(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  return socket;
}

test('writes the kernel cannot take wait, in order; write() says when to wait and drain says when to go on', async () => {
  const s = await serve();
  const peer = await client(s.port);
  try {
    peer.pause();
    await waitFor(() => s.streams.length === 1);
    const stream = s.streams[0]!;
    const chunk = Buffer.alloc(256 * 1024);
    let sent = 0;
    let refused = false;
    for (let i = 0; i < 64 && !refused; i++) {
      chunk.fill(i % 251);
      refused = !stream.write(Buffer.from(chunk));
      sent++;
    }
    assert.ok(refused, 'write() never asked the writer to wait');
    assert.ok(stream.writableLength > 0);
    assert.ok(!s.events.includes('drain'));
    const got: Buffer[] = [];
    peer.on('data', (d: Buffer) => got.push(d));
    peer.resume();
    assert.ok(await waitFor(() => s.events.includes('drain'), 5000), 'no drain');
    assert.equal(stream.writableLength, 0);
    await waitFor(() => got.reduce((n, d) => n + d.length, 0) === sent * chunk.length, 5000);
    const all = Buffer.concat(got);
    for (let i = 0; i < sent; i++)
      assert.equal(all[i * chunk.length + 1000], i % 251, `chunk ${i} out of order`);
  } finally {
    peer.destroy();
    s.server.close();
  }
});

test("cork holds writes until uncork; end() sends them, then FIN; the peer's FIN then closes it", async () => {
  const s = await serve();
  const peer = await client(s.port);
  try {
    await waitFor(() => s.streams.length === 1);
    const stream = s.streams[0]!;
    const got: Buffer[] = [];
    peer.on('data', (d: Buffer) => got.push(d));
    stream.cork();
    stream.write(Buffer.from('one '));
    stream.write(Buffer.from('two '));
    assert.equal(stream.writableLength, 8, 'corked writes are counted as pending');
    stream.uncork();
    stream.write(Buffer.from('three'));
    let finished = false;
    stream.once('finish', () => {
      finished = true;
    });
    stream.end();
    await once(peer, 'end');
    assert.equal(Buffer.concat(got).toString(), 'one two three');
    assert.equal(finished, true);
    assert.ok(!s.events.includes('close'), 'closed before the peer ended its side');
    peer.end();
    assert.ok(await waitFor(() => s.events.includes('close')));
    assert.deepEqual(s.events, ['close']);
  } finally {
    peer.destroy();
    s.server.close();
  }
});

test("a peer's FIN ends our side too (no half-open socket); a reset is reported as an error, then close", async () => {
  const s = await serve();
  const first = await client(s.port);
  await waitFor(() => s.streams.length === 1);
  first.write('hello');
  first.end();
  await once(first, 'end');
  assert.ok(await waitFor(() => s.events.includes('close')));
  assert.deepEqual(s.events, ['data 5', 'close']);

  s.events.length = 0;
  const second = await client(s.port);
  await waitFor(() => s.streams.length === 2);
  second.resetAndDestroy();
  assert.ok(await waitFor(() => s.events.includes('close')));
  assert.deepEqual(s.events, ['error read ECONNRESET', 'close']);
  // server.close() waits for open connections as with net.Sockets: none is left.
  await new Promise<void>((resolve, reject) => s.server.close((err) => (err ? reject(err) : resolve())));
});

test('pause stops reading at once, resume goes on; maxConnections still drops through Node', async () => {
  const s = await serve();
  s.server.maxConnections = 1;
  const dropped: string[] = [];
  s.server.on('drop', (d?: { remoteAddress?: string }) => dropped.push(d?.remoteAddress ?? '?'));
  const peer = await client(s.port);
  try {
    await waitFor(() => s.streams.length === 1);
    const stream = s.streams[0]!;
    stream.pause();
    peer.write('x'.repeat(100));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(s.events, [], 'read while paused');
    stream.resume();
    assert.ok(await waitFor(() => s.events.length > 0));
    assert.deepEqual(s.events, ['data 100']);
    const extra = await client(s.port);
    await once(extra, 'close');
    assert.deepEqual(dropped, ['127.0.0.1']);
    assert.equal(s.streams.length, 1);
  } finally {
    peer.destroy();
    s.server.close();
  }
});
