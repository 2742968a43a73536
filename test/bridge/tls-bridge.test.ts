// TLS bridges to the real Mosquitto with openssl-made certificates (CA check, host name check, client
// certificate) and with TLS-PSK.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { freePort, sleep } from '../helpers/net.js';
import { startMosquitto } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { makePki, type Pki } from '../transport/pki.js';
import { bridgesUp, collector, culexWithBridges, publish, receivedCount } from './bridge-helpers.js';

const skip = requireTool('mosquitto', 'openssl');
let pki: Pki;

before(() => {
  if (skip === false) pki = makePki('/CN=bridge-client');
});

/** Mosquitto with its plain listener (`port`) and a TLS one (`tlsPort`) configured by `lines`. */
async function tlsMosquitto(
  lines: string[],
): Promise<{ stop(): Promise<void>; port: number; tlsPort: number }> {
  const tlsPort = await freePort();
  const m = await startMosquitto(['allow_anonymous true', `listener ${tlsPort} 127.0.0.1`, ...lines]);
  return { stop: () => m.stop(), port: m.port, tlsPort };
}

test('certificate TLS bridge: verified CA and client certificate, messages flow', { skip }, async () => {
  const remote = await tlsMosquitto([
    `cafile ${pki.caCert}`,
    `certfile ${pki.serverCert}`,
    `keyfile ${pki.serverKey}`,
    'require_certificate true',
  ]);
  const local = await culexWithBridges([
    'connection tls',
    `address 127.0.0.1:${remote.tlsPort}`,
    'restart_timeout 1',
    `bridge_cafile ${pki.caCert}`,
    `bridge_certfile ${pki.clientCert}`,
    `bridge_keyfile ${pki.clientKey}`,
    'topic t/# out 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const far = await collector(remote.port, ['t/#'], 1);
    await publish(local.port, 't/1', 'secure', 1);
    const [m] = await receivedCount(far, 1);
    assert.equal(m?.payload, 'secure');
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('a remote certificate from a CA the bridge does not trust: the link never comes up', {
  skip,
}, async () => {
  const remote = await tlsMosquitto([`certfile ${pki.serverCert}`, `keyfile ${pki.serverKey}`]);
  const lines: string[] = [];
  const local = await culexWithBridges(
    [
      'connection untrusted',
      `address 127.0.0.1:${remote.tlsPort}`,
      'restart_timeout 1',
      `bridge_cafile ${pki.foreignCaCert}`,
      'topic t/# out 1',
    ],
    { logger: { enabled: () => true, log: (level, line) => void (level !== 'debug' && lines.push(line)) } },
  );
  try {
    await sleep(1500);
    assert.notEqual(local.bridges.list()[0]?.stats.state, 'up');
    assert.equal(
      lines.filter((l) => l.startsWith('Error creating bridge untrusted')).length,
      1,
      lines.join('\n'),
    );
  } finally {
    await local.stop();
    await remote.stop();
  }
});

test('TLS-PSK bridge: bridge_identity and bridge_psk', { skip }, async () => {
  const pskFile = join(pki.dir, 'bridge-psk.txt');
  writeFileSync(pskFile, 'culex-bridge:00112233445566778899\n');
  const remote = await tlsMosquitto(['psk_hint hint', `psk_file ${pskFile}`]);
  const local = await culexWithBridges([
    'connection psk',
    `address 127.0.0.1:${remote.tlsPort}`,
    'restart_timeout 1',
    'bridge_identity culex-bridge',
    'bridge_psk 00112233445566778899',
    'topic p/# both 1',
  ]);
  try {
    await bridgesUp(local.bridges);
    const near = await collector(local.port, ['p/#'], 1);
    const far = await collector(remote.port, ['p/#'], 1);
    await publish(remote.port, 'p/in', 'to-culex', 1);
    await publish(local.port, 'p/out', 'to-mosquitto', 1);
    await receivedCount(near, 2);
    await receivedCount(far, 2);
    await near.end();
    await far.end();
  } finally {
    await local.stop();
    await remote.stop();
  }
});
