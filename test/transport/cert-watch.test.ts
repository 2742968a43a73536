// Culex-only: a renewed certificate and key written over the configured files go live for new TLS handshakes
// without SIGHUP (cert-manager / certbot renewals): the directory is watched, changes are debounced, the files
// validated, then swapped in; open connections stay. A broken file keeps the old context and says why.

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { requireTool } from '../helpers/tools.js';
import { startCli } from '../security/cli-broker.js';
import { connectMqtt, roundTrip } from './clients.js';
import { fingerprintOf, makeRenewal, servedFingerprint } from './renewal.js';

async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(50);
  }
  return false;
}

test('certificate files replaced on disk go live without SIGHUP; a broken one keeps the old context', {
  skip: requireTool('openssl'),
  timeout: 30_000,
}, async () => {
  const { pki, cert, key, renewedCert: renewed, renewedKey } = makeRenewal();
  const broker = await startCli(pki.dir, ['allow_anonymous true', `certfile ${cert}`, `keyfile ${key}`]);
  const ca = readFileSync(pki.caCert);
  try {
    const open = await connectMqtt(`mqtts://127.0.0.1:${broker.port}`, { ca, clientId: 'kept-open' });
    assert.equal(await servedFingerprint(broker.port, ca), fingerprintOf(pki.serverCert));

    // Renewal as certbot / cert-manager do it: new files renamed into place, key and certificate one after the other.
    copyFileSync(renewedKey, `${key}.tmp`);
    renameSync(`${key}.tmp`, key);
    copyFileSync(renewed, `${cert}.tmp`);
    renameSync(`${cert}.tmp`, cert);
    const renewedFp = fingerprintOf(renewed);
    assert.ok(
      await until(async () => (await servedFingerprint(broker.port, ca)) === renewedFp, 5000),
      `renewed certificate not served:\n${broker.log()}`,
    );
    assert.match(
      broker.log(),
      /TLS certificate, key, CA or CRL file changed on disk: reloading the TLS listeners\./,
    );
    assert.doesNotMatch(broker.log(), /Reloading config/, 'no SIGHUP reload happened');
    assert.equal(await roundTrip(open, 'watch/kept', 'still'), 'still');

    // A broken certificate: logged as a SIGHUP reload logs it, and the renewed one is still served.
    writeFileSync(cert, '-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n');
    assert.ok(
      await until(() => /Error when reloading certificate/.test(broker.log()), 5000),
      `no error for the broken file:\n${broker.log()}`,
    );
    assert.equal(await servedFingerprint(broker.port, ca), renewedFp);
    assert.equal(await roundTrip(open, 'watch/still', 'up'), 'up');
    await open.endAsync();
  } finally {
    await broker.stop();
  }
});
