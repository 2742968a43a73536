// Mosquitto 2.1 listener options at work on a running broker (Debian ships 2.0.11: these follow the 2.1
// manual's words): listener_allow_anonymous, listener_auto_id_prefix, accept_protocol_versions, websockets_origin.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { Broker, type ListenerSpec } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';

async function withListeners(
  specs: ListenerSpec[],
  body: (ports: number[]) => Promise<void>,
  allowAnonymous = false,
): Promise<void> {
  const broker = new Broker({ options: { connectionMessages: false, allowAnonymous } });
  try {
    const opened = await broker.listen(specs);
    await body(opened.map((l) => l.port));
  } finally {
    await broker.stop();
  }
}

async function connack(port: number, o: Parameters<RawClient['handshake']>[0] = {}) {
  const c = await RawClient.open(port);
  const ack = await c.handshake(o);
  c.socket.destroy();
  return ack;
}

test('2.1 manual: listener_allow_anonymous overrides allow_anonymous for that listener only', async () => {
  await withListeners(
    [
      { port: 0, host: '127.0.0.1', allowAnonymous: true },
      { port: 0, host: '127.0.0.1' },
    ],
    async ([open, closed]) => {
      assert.equal((await connack(open!, { clientId: 'a' })).reasonCode, 0);
      assert.equal((await connack(closed!, { clientId: 'b' })).reasonCode, 5);
    },
  );
});

test('2.1 manual: listener_auto_id_prefix prefixes identifiers assigned on that listener', async () => {
  await withListeners(
    [
      { port: 0, host: '127.0.0.1', autoIdPrefix: 'edge-' },
      { port: 0, host: '127.0.0.1' },
    ],
    async ([edge, plain]) => {
      const a = await connack(edge!, { clientId: '', version: 5 });
      assert.match(String(a.properties?.assignedClientIdentifier), /^edge-/);
      const b = await connack(plain!, { clientId: '', version: 5 });
      assert.match(String(b.properties?.assignedClientIdentifier), /^auto-/);
    },
    true,
  );
});

test('2.1 manual: accept_protocol_versions refuses other versions with CONNACK 0x01 / 0x84', async () => {
  await withListeners(
    [{ port: 0, host: '127.0.0.1', acceptProtocolVersions: [5] }],
    async ([port]) => {
      assert.equal((await connack(port!, { clientId: 'v5', version: 5 })).reasonCode, 0);
      assert.equal((await connack(port!, { clientId: 'v4', version: 4 })).reasonCode, 1);
      assert.equal((await connack(port!, { clientId: 'v3', version: 3 })).reasonCode, 1);
    },
    true,
  );
  await withListeners(
    [{ port: 0, host: '127.0.0.1', acceptProtocolVersions: [3, 4] }],
    async ([port]) => {
      assert.equal((await connack(port!, { clientId: 'v4', version: 4 })).reasonCode, 0);
      assert.equal((await connack(port!, { clientId: 'v5', version: 5 })).reasonCode, 0x84);
    },
    true,
  );
});

function upgrade(port: number, origin?: string): Promise<number | 'open'> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, ['mqtt'], origin === undefined ? {} : { origin });
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('error', () => {});
  });
}

test('2.1 manual: websockets_origin lets only the listed origins upgrade', async () => {
  await withListeners(
    [{ port: 0, host: '127.0.0.1', protocol: 'websockets', websocketsOrigins: ['https://ok.test'] }],
    async ([port]) => {
      assert.equal(await upgrade(port!, 'https://ok.test'), 'open');
      assert.equal(await upgrade(port!, 'https://evil.test'), 403);
      assert.equal(await upgrade(port!), 403);
    },
    true,
  );
});
