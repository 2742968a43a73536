// use_identity_as_username on a TLS listener that does not require a certificate: a client without one finishes
// the TLS handshake and is then refused with the CONNACK Mosquitto sends (4 / 0x86), compared with the real binary.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, startFromConf, writeConf } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { makePki, type Pki } from '../transport/pki.js';

const skip = requireTool('mosquitto', 'openssl');

let pki: Pki;
const brokers: BrokerProcess[] = [];

before(async () => {
  if (skip !== false) return;
  pki = makePki();
  for (const kind of ['mosquitto', 'culex'] as const) {
    const port = await freePort();
    const conf = writeConf(pki.dir, port, [
      `cafile ${pki.caCert}`,
      `certfile ${pki.serverCert}`,
      `keyfile ${pki.serverKey}`,
      'require_certificate false',
      'use_identity_as_username true',
      'allow_anonymous true',
      'log_type none',
    ]);
    brokers.push(await startFromConf(kind, conf, port));
  }
});

after(async () => {
  await Promise.all(brokers.map((b) => b.stop()));
});

/** Sends `bytes` over TLS (with the client certificate or without) and returns what came back, hex, then "closed". */
function exchange(port: number, bytes: string, withCert: boolean): Promise<string> {
  return new Promise((resolve) => {
    const got: string[] = [];
    const socket = tlsConnect(
      {
        port,
        host: '127.0.0.1',
        servername: 'localhost',
        ca: readFileSync(pki.caCert),
        ...(withCert ? { cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) } : {}),
      },
      () => socket.write(Buffer.from(bytes, 'hex')),
    );
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(`${got.join('')} open`);
    }, 800);
    socket.on('data', (d: Buffer) => got.push(d.toString('hex')));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(`${got.join('')} closed`);
    });
  });
}

const CONNECT4 = '101000044d5154540402003c0004746c7334';
const CONNECT5 = '101100044d5154540502003c000004746c7335';

for (const [name, bytes, withCert] of [
  ['3.1.1 without a client certificate: CONNACK 4', CONNECT4, false],
  ['5.0 without a client certificate: CONNACK 0x86', CONNECT5, false],
  ['3.1.1 with a client certificate: accepted', CONNECT4, true],
] as const) {
  test(`differential vs mosquitto: use_identity_as_username, ${name}`, { skip }, async () => {
    const [theirs, ours] = await Promise.all(brokers.map((b) => exchange(b.port, bytes, withCert)));
    assert.equal(ours, theirs);
    if (!withCert) assert.match(ours ?? '', /^2002000[4] closed$|^2003008600 closed$/);
  });
}
