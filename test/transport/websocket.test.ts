// WebSocket listeners: MQTT over ws and wss with the "mqtt" subprotocol, http_dir static files without path
// traversal, websockets_headers_size, and garbage answered with a close rather than a crash.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Broker, type ListenerSpec } from '../../src/index.js';
import { resolveStaticPath } from '../../src/transport/static-files.js';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, roundTrip } from './clients.js';
import { makePki, type Pki } from './pki.js';

const running: Broker[] = [];
after(async () => {
  await Promise.all(running.map((b) => b.stop()));
});

const root = tempDir('culex-http-');
mkdirSync(join(root, 'sub'));
writeFileSync(join(root, 'index.html'), '<h1>culex</h1>');
writeFileSync(join(root, 'sub', 'a.js'), 'export const a = 1;');
writeFileSync(join(root, '..', 'culex-secret.txt'), 'secret');

async function wsBroker(extra: Partial<ListenerSpec> = {}): Promise<{ broker: Broker; port: number }> {
  const broker = new Broker({ options: { connectionMessages: false } });
  running.push(broker);
  const [l] = await broker.listen([
    { port: 0, host: '127.0.0.1', protocol: 'websockets', httpDir: root, ...extra },
  ]);
  return { broker, port: l!.port };
}

/** Raw HTTP exchange: writes `request`, resolves with everything read until the server closes. */
function rawHttp(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('error', () => {});
    s.once('close', () => resolve(out));
    s.write(request);
    setTimeout(() => s.destroy(), 3000);
  });
}

test('WebSocket: npm mqtt client over ws publishes and receives; subprotocol is "mqtt"', async () => {
  const { port } = await wsBroker();
  const client = await connectMqtt(`ws://127.0.0.1:${port}/mqtt`);
  assert.equal(await roundTrip(client, 'ws/hello', 'over websocket'), 'over websocket');
  await client.endAsync();
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt']);
  await new Promise((r) => ws.once('open', r));
  assert.equal(ws.protocol, 'mqtt');
  ws.close();
});

test('WebSocket: a message split over many frames and several packets in one frame both work', async () => {
  const { port } = await wsBroker();
  const sub = await connectMqtt(`ws://127.0.0.1:${port}`);
  await sub.subscribeAsync('split/#');
  const got: string[] = [];
  sub.on('message', (t, p) => got.push(`${t}=${p.toString()}`));
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt']);
  await new Promise((r) => ws.once('open', r));
  const connect = Buffer.from([
    0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x78,
  ]);
  for (const byte of connect) ws.send(Buffer.from([byte]));
  const publish = (topic: string, payload: string): Buffer => {
    const body = Buffer.concat([Buffer.from([0, topic.length]), Buffer.from(topic), Buffer.from(payload)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  };
  ws.send(Buffer.concat([publish('split/a', '1'), publish('split/b', '2')]));
  const deadline = Date.now() + 3000;
  while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(got, ['split/a=1', 'split/b=2']);
  ws.close();
  await sub.endAsync();
});

test('WebSocket http_dir: serves files, index.html for /, 404 for traversal attempts', async () => {
  const { port } = await wsBroker();
  const index = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(index.status, 200);
  assert.equal(await index.text(), '<h1>culex</h1>');
  assert.match(index.headers.get('content-type') ?? '', /text\/html/);
  const js = await fetch(`http://127.0.0.1:${port}/sub/a.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get('content-type') ?? '', /javascript/);
  for (const evil of [
    '/../culex-secret.txt',
    '/%2e%2e/culex-secret.txt',
    '/sub/..%2f..%2fculex-secret.txt',
    '/..%5cculex-secret.txt',
  ]) {
    const reply = await rawHttp(port, `GET ${evil} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 404/, evil);
    assert.doesNotMatch(reply, /secret/, evil);
  }
  assert.equal(resolveStaticPath(root, '/../culex-secret.txt'), undefined);
  assert.equal(resolveStaticPath(root, '/sub/../index.html'), undefined);
  assert.equal((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status, 405);
});

test('WebSocket without http_dir answers plain HTTP with 404', async () => {
  const { port } = await wsBroker({ httpDir: undefined as unknown as string });
  assert.equal((await fetch(`http://127.0.0.1:${port}/index.html`)).status, 404);
});

test('WebSocket websockets_headers_size: larger request headers get 431', async () => {
  const { port } = await wsBroker({ websocketsHeadersSize: 2048 });
  const reply = await rawHttp(port, `GET / HTTP/1.1\r\nHost: x\r\nCookie: ${'a'.repeat(4000)}\r\n\r\n`);
  assert.match(reply, /^HTTP\/1\.1 431/);
  const small = await fetch(`http://127.0.0.1:${port}/`);
  assert.equal(small.status, 200);
});

test('WebSocket garbage: non-HTTP bytes, a text frame, a bad frame and bad MQTT are closed; the broker lives on', async () => {
  const { broker, port } = await wsBroker();
  const reply = await rawHttp(
    port,
    Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]),
  );
  assert.match(reply, /^HTTP\/1\.1 400/);

  const text = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt']);
  await new Promise((r) => text.once('open', r));
  const textClosed = new Promise<number>((r) => text.once('close', (code) => r(code)));
  text.send('this is text, not MQTT');
  assert.equal(await textClosed, 1003); // [MQTT-6.0.0-1]

  const junk = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt']);
  await new Promise((r) => junk.once('open', r));
  const junkClosed = new Promise((r) => junk.once('close', r));
  junk.send(Buffer.from('GET / HTTP/1.1\r\n\r\n garbage that is no MQTT'));
  await junkClosed;

  // A frame with reserved bits set and no mask: a protocol error for the server's WebSocket parser.
  const raw = await new Promise<string>((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    let out = '';
    s.on('data', (d) => {
      out += d.toString('latin1');
      if (out.includes('\r\n\r\n') && !out.includes('sent')) {
        out += 'sent';
        s.write(Buffer.from([0xf2, 0x05, 1, 2, 3, 4, 5]));
      }
    });
    s.on('error', () => {});
    s.once('close', () => resolve(out));
    s.write(
      'GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: mqtt\r\n\r\n',
    );
    setTimeout(() => s.destroy(), 4000);
  });
  assert.match(raw, /101 Switching Protocols/);

  const client = await connectMqtt(`ws://127.0.0.1:${port}`);
  assert.equal(await roundTrip(client, 'still/alive', 'yes'), 'yes');
  await client.endAsync();
  const deadline = Date.now() + 3000;
  while (broker.stats.connections > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(broker.stats.connections, 0);
});

const skipTls = requireTool('openssl');
let pki: Pki;
before(() => {
  if (skipTls === false) pki = makePki();
});

test('WebSocket over TLS (wss) with the npm mqtt client', { skip: skipTls }, async () => {
  const { port } = await wsBroker({
    tls: {
      certfile: pki.serverCert,
      keyfile: pki.serverKey,
      requireCertificate: false,
      useIdentityAsUsername: false,
      useSubjectAsUsername: false,
    },
  });
  const client = await connectMqtt(`wss://127.0.0.1:${port}/mqtt`, { ca: readFileSync(pki.caCert) });
  assert.equal(await roundTrip(client, 'wss/hello', 'secure'), 'secure');
  await client.endAsync();
  await assert.rejects(connectMqtt(`wss://127.0.0.1:${port}/mqtt`, { ca: readFileSync(pki.foreignCaCert) }));
});
