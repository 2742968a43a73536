// crlfile as Mosquitto 2.0.11 applies it (checked against the real binary): the client's own certificate is
// checked against every CRL in the file, the intermediates are not; no CRL from the leaf's issuer, or an expired
// one, refuses the client. Chain root -> intermediate -> client leaves, made with openssl at test time.

import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Broker, type TlsOptions } from '../../src/index.js';
import { parseCrlPem } from '../../src/transport/crl.js';
import { RevocationList } from '../../src/transport/revocation.js';
import { TlsSetupError } from '../../src/transport/tls-setup-error.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, runTool } from './clients.js';
import { openssl } from './pki.js';
import { type ChainPki, makeChainPki } from './pki-chain.js';

const skip = requireTool('openssl', 'mosquitto_pub');
let pki: ChainPki;
let crls: { inter: string; root: string; both: string; expired: string; empty: string };
const running: Broker[] = [];

before(() => {
  if (skip !== false) return;
  pki = makeChainPki();
  const inter = pki.crl('inter', [pki.revoked.cert], 'inter.crl');
  const root = pki.crl('root', [], 'root.crl');
  const both = join(pki.dir, 'both.crl');
  writeFileSync(both, readFileSync(root, 'utf8') + readFileSync(inter, 'utf8'));
  const expired = pki.crl('inter', [], 'expired.crl', ['20200101000000Z', '20200201000000Z']);
  const empty = pki.crl('inter', [], 'empty.crl');
  crls = { inter, root, both, expired, empty };
});
after(async () => {
  await Promise.all(running.map((b) => b.stop()));
});

async function brokerWithCrl(crlfile: string, protocol: 'mqtt' | 'websockets' = 'mqtt'): Promise<number> {
  const broker = new Broker({ options: { connectionMessages: false } });
  running.push(broker);
  const tls: TlsOptions = {
    certfile: pki.serverCert,
    keyfile: pki.serverKey,
    cafile: pki.chainCa,
    crlfile,
    requireCertificate: true,
    useIdentityAsUsername: false,
    useSubjectAsUsername: false,
  };
  const [l] = await broker.listen([{ port: 0, host: '127.0.0.1', tls, protocol }]);
  return l!.port;
}

async function accepted(
  port: number,
  who: { cert: string; key: string },
  scheme = 'mqtts',
): Promise<boolean> {
  try {
    const c = await connectMqtt(`${scheme}://127.0.0.1:${port}`, {
      ca: readFileSync(pki.rootCert),
      cert: readFileSync(who.cert),
      key: readFileSync(who.key),
      rejectUnauthorized: true,
    });
    await c.endAsync();
    return true;
  } catch {
    return false;
  }
}

test("crlfile with only the intermediate CA's CRL: valid leaf accepted, revoked leaf refused", {
  skip,
}, async () => {
  const port = await brokerWithCrl(crls.inter);
  assert.equal(await accepted(port, pki.good), true, 'valid client refused');
  assert.equal(await accepted(port, pki.revoked), false, 'revoked client accepted');
  // The same through mosquitto_pub, as in the Mosquitto run: exit status 0 for the good one, an error otherwise.
  const pub = (who: { cert: string; key: string }) =>
    runTool('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', String(port), '--cafile', pki.rootCert],
      ...['--cert', who.cert, '--key', who.key, '-t', 'crl/t', '-m', 'x'],
    ]);
  assert.equal((await pub(pki.good)).status, 0);
  assert.notEqual((await pub(pki.revoked)).status, 0);
});

test('crlfile with two CRLs concatenated (root first): every CRL is read', { skip }, async () => {
  const port = await brokerWithCrl(crls.both);
  assert.equal(await accepted(port, pki.good), true);
  assert.equal(await accepted(port, pki.revoked), false);
});

test("crlfile without a CRL from the leaf's issuer, or with an expired one, refuses every client", {
  skip,
}, async () => {
  const rootOnly = await brokerWithCrl(crls.root);
  assert.equal(await accepted(rootOnly, pki.good), false);
  const expired = await brokerWithCrl(crls.expired);
  assert.equal(await accepted(expired, pki.good), false);
  const empty = await brokerWithCrl(crls.empty);
  assert.equal(await accepted(empty, pki.revoked), true, 'an empty current CRL revokes nothing');
});

test('crlfile on a WebSocket over TLS listener refuses the revoked leaf only', { skip }, async () => {
  const port = await brokerWithCrl(crls.inter, 'websockets');
  assert.equal(await accepted(port, pki.good, 'wss'), true);
  assert.equal(await accepted(port, pki.revoked, 'wss'), false);
});

test('CRL reader: serial numbers as openssl prints them; a forged signature or a bad file is refused', {
  skip,
}, () => {
  const text = readFileSync(crls.inter, 'utf8');
  const [crl] = parseCrlPem(text);
  const serial = openssl(pki.dir, ['x509', '-in', pki.revoked.cert, '-noout', '-serial'])
    .trim()
    .split('=')[1]!;
  assert.deepEqual([...crl!.revoked], [serial.toLowerCase().replace(/^(00)+/, '')]);
  const der = (file: string): Buffer => new X509Certificate(readFileSync(file)).raw;
  const list = RevocationList.parse(text);
  const inter = der(join(pki.dir, 'inter.crt'));
  assert.equal(list.failure(der(pki.good.cert), inter), undefined);
  assert.equal(list.failure(der(pki.revoked.cert), inter), 'certificate revoked');
  // Signed by the root's key while naming the intermediate: the signature does not verify.
  assert.equal(list.failure(der(pki.good.cert), der(pki.rootCert)), 'CRL signature failure');
  assert.equal(list.failure(der(pki.good.cert), inter, Date.UTC(2000, 0, 1)), 'CRL is not yet valid');
  assert.throws(() => RevocationList.parse('no CRL here'), /no X509 CRL/);
  const bad = join(pki.dir, 'bad.crl');
  writeFileSync(bad, '-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n');
  return assert.rejects(
    brokerWithCrl(bad),
    (e: unknown) => e instanceof TlsSetupError && /Check crlfile/.test(String(e)),
  );
});
