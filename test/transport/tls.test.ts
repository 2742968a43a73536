// TLS listeners: server and client certificates, identity / subject as username, PSK, start-up errors,
// stalled handshakes. Real clients: mosquitto_pub / mosquitto_sub and the npm mqtt client over mqtts.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { Broker, type ClientInfo, type ListenerSpec, type TlsOptions } from '../../src/index.js';
import { rfc2253Subject } from '../../src/transport/certificate-identity.js';
import { TlsSetupError } from '../../src/transport/tls-setup-error.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, roundTrip, runTool } from './clients.js';
import { makePki, type Pki } from './pki.js';

const skip = requireTool('openssl', 'mosquitto_pub', 'mosquitto_sub');
let pki: Pki;

before(() => {
  if (skip === false) pki = makePki();
});

interface Running {
  broker: Broker;
  port: number;
  connected: ClientInfo[];
}
const running: Broker[] = [];
after(async () => {
  await Promise.all(running.map((b) => b.stop()));
});

async function tlsBroker(
  tls: Partial<TlsOptions>,
  extra: Partial<ListenerSpec> = {},
  connectTimeout = 10,
): Promise<Running> {
  const broker = new Broker({ options: { connectionMessages: false, connectTimeout } });
  running.push(broker);
  const full: TlsOptions = {
    certfile: pki.serverCert,
    keyfile: pki.serverKey,
    requireCertificate: false,
    useIdentityAsUsername: false,
    useSubjectAsUsername: false,
    ...tls,
  };
  const [l] = await broker.listen([{ port: 0, host: '127.0.0.1', tls: full, ...extra }]);
  const connected: ClientInfo[] = [];
  broker.on('clientConnected', (c: ClientInfo) =>
    connected.push({ ...c, clientId: c.clientId, username: c.username }),
  );
  return { broker, port: l!.port, connected };
}

async function mosquittoRoundTrip(
  port: number,
  auth: string[],
  topic: string,
): Promise<{ ok: boolean; why: string }> {
  const sub = runTool('mosquitto_sub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    ...auth,
    '-t',
    topic,
    '-C',
    '1',
    '-W',
    '5',
  ]);
  await new Promise((r) => setTimeout(r, 500));
  const pub = await runTool('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    ...auth,
    '-t',
    topic,
    '-m',
    'over-tls',
    '-q',
    '1',
  ]);
  const got = await sub;
  return {
    ok: pub.status === 0 && got.stdout.trim() === 'over-tls',
    why: `pub: ${pub.stderr} sub: ${got.stderr}`,
  };
}

test('TLS: mosquitto_pub / mosquitto_sub with --cafile exchange a message', { skip }, async () => {
  const { port } = await tlsBroker({ cafile: pki.caCert });
  const r = await mosquittoRoundTrip(port, ['--cafile', pki.caCert], 'tls/plain');
  assert.ok(r.ok, r.why);
});

test('TLS: client trusting another CA refuses the broker', { skip }, async () => {
  const { port } = await tlsBroker({});
  const pub = await runTool('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--cafile',
    pki.foreignCaCert,
    '-t',
    't',
    '-m',
    'x',
  ]);
  assert.notEqual(pub.status, 0);
  await assert.rejects(connectMqtt(`mqtts://127.0.0.1:${port}`, { ca: readFileSync(pki.foreignCaCert) }));
});

test('TLS require_certificate: valid client certificate accepted, missing / expired / foreign refused', {
  skip,
}, async () => {
  const { port, connected } = await tlsBroker({ cafile: pki.caCert, requireCertificate: true });
  const good = await mosquittoRoundTrip(
    port,
    ['--cafile', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey],
    'tls/cert',
  );
  assert.ok(good.ok, good.why);
  const base = ['-h', '127.0.0.1', '-p', String(port), '--cafile', pki.caCert, '-t', 't', '-m', 'x'];
  const none = await runTool('mosquitto_pub', base);
  assert.notEqual(none.status, 0, 'no client certificate must be refused');
  const expired = await runTool('mosquitto_pub', [
    ...base,
    '--cert',
    pki.expiredCert,
    '--key',
    pki.expiredKey,
  ]);
  assert.notEqual(expired.status, 0, 'an expired certificate must be refused');
  const foreign = await runTool('mosquitto_pub', [
    ...base,
    '--cert',
    pki.foreignCert,
    '--key',
    pki.foreignKey,
  ]);
  assert.notEqual(foreign.status, 0, 'a certificate from an untrusted CA must be refused');
  // Only the good pair got as far as MQTT (sub + pub).
  assert.equal(connected.length, 2);
});

test('TLS: npm mqtt client over mqtts with a client certificate', { skip }, async () => {
  const { port } = await tlsBroker({ cafile: pki.caCert, requireCertificate: true });
  const client = await connectMqtt(`mqtts://127.0.0.1:${port}`, {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
  });
  assert.equal(await roundTrip(client, 'mqtts/hello', 'hi'), 'hi');
  await client.endAsync();
  await assert.rejects(connectMqtt(`mqtts://127.0.0.1:${port}`, { ca: readFileSync(pki.caCert) }));
});

test('TLS use_identity_as_username: the certificate CN is the username, whatever CONNECT says', {
  skip,
}, async () => {
  const { port, connected } = await tlsBroker({
    cafile: pki.caCert,
    requireCertificate: true,
    useIdentityAsUsername: true,
  });
  const client = await connectMqtt(`mqtts://127.0.0.1:${port}`, {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
    username: 'someone-else',
    password: 'x',
  });
  await client.endAsync();
  assert.equal(connected[0]?.username, 'client1');
});

test('TLS use_subject_as_username: the subject as Mosquitto formats it (RFC 2253)', { skip }, async () => {
  const { port, connected } = await tlsBroker({
    cafile: pki.caCert,
    requireCertificate: true,
    useSubjectAsUsername: true,
  });
  const client = await connectMqtt(`mqtts://127.0.0.1:${port}`, {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
  });
  await client.endAsync();
  // openssl prints UTF-8 raw with -nameopt RFC2253 (it drops ESC_MSB); X509_NAME_print_ex as Mosquitto calls it escapes bytes.
  const expected = pki.clientSubjectRfc2253.replace(/[^\p{ASCII}]/gu, (ch) =>
    [...Buffer.from(ch)].map((b) => `\\${b.toString(16).toUpperCase()}`).join(''),
  );
  assert.equal(connected[0]?.username, expected);
  assert.equal(expected, 'CN=client1,OU=B\\C3\\BCro,O=Acme\\, Inc.,C=GB');
});

test('rfc2253Subject reverses RDNs, joins multi-valued ones with + and keeps escapes', () => {
  assert.equal(rfc2253Subject('C=GB\nO=Acme\\, Inc.\nCN=a + UID=b'), 'CN=a+UID=b,O=Acme\\, Inc.,C=GB');
});

test('TLS-PSK: mosquitto_pub --psk with the right key gets through, a wrong key does not', {
  skip,
}, async () => {
  const pskFile = join(pki.dir, 'psk.txt');
  writeFileSync(pskFile, '# identities\nsensor-1:deadbeef0123\nother:00112233\n');
  const broker = new Broker({ options: { connectionMessages: false, pskFile } });
  running.push(broker);
  const [l] = await broker.listen([
    {
      port: 0,
      host: '127.0.0.1',
      tls: {
        pskHint: 'culex',
        requireCertificate: false,
        useIdentityAsUsername: true,
        useSubjectAsUsername: false,
      },
    },
  ]);
  const connected: ClientInfo[] = [];
  broker.on('clientConnected', (c: ClientInfo) => connected.push({ ...c, username: c.username }));
  const port = String(l!.port);
  const good = await runTool('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    port,
    '--psk',
    'deadbeef0123',
    '--psk-identity',
    'sensor-1',
    '-t',
    'psk/t',
    '-m',
    'x',
  ]);
  assert.equal(good.status, 0, good.stderr);
  assert.equal(connected[0]?.username, 'sensor-1');
  const bad = await runTool('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    port,
    '--psk',
    'deadbeef0124',
    '--psk-identity',
    'sensor-1',
    '-t',
    'psk/t',
    '-m',
    'x',
  ]);
  assert.notEqual(bad.status, 0);
  const unknown = await runTool('mosquitto_pub', [
    '-h',
    '127.0.0.1',
    '-p',
    port,
    '--psk',
    '00',
    '--psk-identity',
    'nobody',
    '-t',
    'psk/t',
    '-m',
    'x',
  ]);
  assert.notEqual(unknown.status, 0);
  assert.equal(connected.length, 1);
});

test('TLS tls_version tlsv1.3: a TLS 1.2-only client is refused', { skip }, async () => {
  const { port } = await tlsBroker({ tlsVersion: 'tlsv1.3' });
  const ca = readFileSync(pki.caCert);
  const outcome = await new Promise<string>((resolve) => {
    const s = tlsConnect(
      { host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.2' },
      () => {
        resolve(`connected ${s.getProtocol()}`);
        s.destroy();
      },
    );
    s.once('error', (e) => resolve(`error ${e.message}`));
  });
  assert.match(outcome, /^error/);
  const ok = await connectMqtt(`mqtts://127.0.0.1:${port}`, { ca });
  await ok.endAsync();
});

test('TLS start-up errors name the file: missing key, unreadable certificate, key not matching', {
  skip,
}, async () => {
  const broker = new Broker({ options: { connectionMessages: false } });
  running.push(broker);
  const tls = (certfile: string, keyfile: string): ListenerSpec => ({
    port: 0,
    host: '127.0.0.1',
    tls: {
      certfile,
      keyfile,
      requireCertificate: false,
      useIdentityAsUsername: false,
      useSubjectAsUsername: false,
    },
  });
  const missing = join(pki.dir, 'nope.key');
  await assert.rejects(broker.listen([tls(pki.serverCert, missing)]), (err: unknown) => {
    assert.ok(err instanceof TlsSetupError);
    assert.equal(err.file, missing);
    assert.match(err.message, /nope\.key.*ENOENT.*keyfile/);
    return true;
  });
  const garbage = join(pki.dir, 'garbage.crt');
  writeFileSync(garbage, 'not a certificate\n');
  await assert.rejects(broker.listen([tls(garbage, pki.serverKey)]), (err: unknown) => {
    assert.ok(err instanceof TlsSetupError);
    assert.equal(err.file, garbage);
    return true;
  });
  await assert.rejects(broker.listen([tls(pki.serverCert, pki.clientKey)]), (err: unknown) => {
    assert.ok(err instanceof TlsSetupError);
    assert.match(err.message, /does not match/);
    assert.match(err.message, /server\.crt/);
    assert.match(err.message, /client\.key/);
    return true;
  });
  assert.equal(broker.listening.length, 0);
});

test('TLS: a handshake that never completes is closed after the timeout', { skip }, async () => {
  const { broker, port } = await tlsBroker({}, {}, 1);
  const started = Date.now();
  const closedAfter = await new Promise<number>((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    s.on('data', () => {});
    s.once('close', () => resolve(Date.now() - started));
    s.on('error', () => {});
    // Half a ClientHello, then silence.
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
  });
  assert.ok(closedAfter >= 900 && closedAfter < 5000, `closed after ${closedAfter} ms`);
  // The listener still serves others.
  const ok = await connectMqtt(`mqtts://127.0.0.1:${port}`, { ca: readFileSync(pki.caCert) });
  await ok.endAsync();
  assert.equal(broker.stats.connections, 0);
});
