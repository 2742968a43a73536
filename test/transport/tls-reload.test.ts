// SIGHUP reloads every TLS listener's certificate, key, CA and CRL (MQTT over TLS and WebSockets over TLS)
// without dropping open connections; a broken new file keeps every listener's old context, logged as Mosquitto does.

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort } from '../helpers/net.js';
import { requireTool } from '../helpers/tools.js';
import { startCli } from '../security/cli-broker.js';
import { connectMqtt, roundTrip } from './clients.js';
import { makeChainPki } from './pki-chain.js';
import { fingerprintOf as fingerprint, makeRenewal, servedFingerprint } from './renewal.js';

const skip = requireTool('openssl');

test('SIGHUP serves the renewed certificate on MQTT/TLS and WebSocket/TLS listeners; open connections stay', {
  skip,
  timeout: 30_000,
}, async () => {
  // A second server certificate from the same CA: the "renewed" one.
  const { pki, cert, key, renewedCert: renewed } = makeRenewal();
  const wsPort = await freePort();
  const broker = await startCli(pki.dir, [
    'allow_anonymous true',
    `certfile ${cert}`,
    `keyfile ${key}`,
    `listener ${wsPort} 127.0.0.1`,
    'protocol websockets',
    `certfile ${cert}`,
    `keyfile ${key}`,
  ]);
  const ca = readFileSync(pki.caCert);
  try {
    const open = await connectMqtt(`mqtts://127.0.0.1:${broker.port}`, { ca, clientId: 'kept-open' });
    const openWs = await connectMqtt(`wss://127.0.0.1:${wsPort}`, { ca, clientId: 'kept-open-ws' });
    assert.equal(await servedFingerprint(broker.port, ca), fingerprint(pki.serverCert));
    assert.equal(await servedFingerprint(wsPort, ca), fingerprint(pki.serverCert));

    copyFileSync(renewed, cert);
    copyFileSync(join(pki.dir, 'renewed.key'), key);
    assert.match(await broker.reload(), /Config reloaded\./);
    assert.equal(
      await servedFingerprint(broker.port, ca),
      fingerprint(renewed),
      'MQTT/TLS kept the old certificate',
    );
    assert.equal(
      await servedFingerprint(wsPort, ca),
      fingerprint(renewed),
      'WebSocket/TLS kept the old certificate',
    );
    assert.equal(await roundTrip(open, 'reload/kept', 'still'), 'still');
    assert.equal(await roundTrip(openWs, 'reload/kept-ws', 'still'), 'still');

    // A broken certificate: logged with Mosquitto's line, and the renewed context stays in force.
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n');
    const outcome = await broker.reload();
    assert.match(outcome, /Error: Unable to .*live\.crt/);
    assert.match(outcome, /Error when reloading certificate '.*live\.crt' or key '.*live\.key'\./);
    assert.equal(await servedFingerprint(broker.port, ca), fingerprint(renewed));
    assert.equal(await servedFingerprint(wsPort, ca), fingerprint(renewed));
    assert.equal(await roundTrip(open, 'reload/after-failure', 'ok'), 'ok');
    await Promise.all([open.endAsync(), openWs.endAsync()]);
  } finally {
    await broker.stop();
  }
});

test('SIGHUP reloads the crlfile: a certificate revoked since start is refused, connections stay', {
  skip,
  timeout: 30_000,
}, async () => {
  const pki = makeChainPki();
  const crlfile = join(pki.dir, 'live.crl');
  copyFileSync(pki.crl('inter', [], 'none.crl'), crlfile);
  const broker = await startCli(pki.dir, [
    'allow_anonymous true',
    `certfile ${pki.serverCert}`,
    `keyfile ${pki.serverKey}`,
    `cafile ${pki.chainCa}`,
    'require_certificate true',
    `crlfile ${crlfile}`,
  ]);
  const ca = readFileSync(pki.rootCert);
  const as = (who: { cert: string; key: string }) => ({
    cert: readFileSync(who.cert),
    key: readFileSync(who.key),
  });
  const url = `mqtts://127.0.0.1:${broker.port}`;
  try {
    const before = await connectMqtt(url, { ca, ...as(pki.revoked), clientId: 'soon-revoked' });
    copyFileSync(pki.crl('inter', [pki.revoked.cert], 'revoking.crl'), crlfile);
    assert.match(await broker.reload(), /Config reloaded\./);
    await assert.rejects(connectMqtt(url, { ca, ...as(pki.revoked) }));
    const good = await connectMqtt(url, { ca, ...as(pki.good) });
    // Mosquitto too checks the CRL only at the handshake: the open connection goes on.
    assert.equal(await roundTrip(before, 'crl/kept', 'yes'), 'yes');
    await Promise.all([before.endAsync(), good.endAsync()]);
  } finally {
    await broker.stop();
  }
});
