// The http_api listener with certfile / keyfile speaks HTTPS (basic credentials never cross in clear), is listed as
// "tls": true, and takes a renewed certificate on SIGHUP like the MQTT TLS listeners.

import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { get } from 'node:https';
import { test } from 'node:test';
import { freePort, waitFor } from '../helpers/net.js';
import { requireTool } from '../helpers/tools.js';
import { startCli } from '../security/cli-broker.js';
import { fingerprintOf, makeRenewal, servedFingerprint } from '../transport/renewal.js';

function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const auth = `Basic ${Buffer.from('anyone:x').toString('base64')}`;
    get(
      { host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { authorization: auth } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    ).on('error', reject);
  });
}

test('http_api over HTTPS: listed with tls true, served with the listener certificate, renewed on SIGHUP', {
  skip: requireTool('openssl'),
}, async () => {
  const { pki, cert, key, renewedCert, renewedKey } = makeRenewal();
  const httpsPort = await freePort();
  const broker = await startCli(pki.dir, [
    'allow_anonymous true',
    `listener ${httpsPort} 127.0.0.1`,
    'protocol http_api',
    `certfile ${cert}`,
    `keyfile ${key}`,
  ]);
  const ca = readFileSync(pki.caCert);
  try {
    assert.ok(
      await waitFor(() => broker.log().includes(`http api listen socket on port ${httpsPort}`), 3000),
    );
    const listeners = await httpsGet(httpsPort, '/api/v1/listeners', ca);
    assert.equal(listeners.status, 200);
    const entry = (
      JSON.parse(listeners.body) as { listeners: { port: number; tls: boolean }[] }
    ).listeners.find((l) => l.port === httpsPort);
    assert.equal(entry?.tls, true);
    assert.equal(await servedFingerprint(httpsPort, ca), fingerprintOf(pki.serverCert));
    copyFileSync(renewedCert, cert);
    copyFileSync(renewedKey, key);
    assert.match(await broker.reload(), /Config reloaded\./);
    assert.equal(await servedFingerprint(httpsPort, ca), fingerprintOf(renewedCert));
  } finally {
    await broker.stop();
  }
});
