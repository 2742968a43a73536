// `enable_proxy_protocol` (Mosquitto 2.1 manual: the listener expects a PROXY protocol v1 or v2 header before
// the MQTT bytes and takes the client address from it). Debian ships 2.0.11, so these follow the 2.1 manual
// and its proxy_v2.c; raw sockets send the headers.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogLevel } from '../../src/broker/logger.js';
import type { BrokerOptions } from '../../src/broker/options.js';
import { parseConfigText } from '../../src/config/parse.js';
import { Broker } from '../../src/index.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { ListenerOptions } from '../../src/transport/listener-options.js';
import { connectPacket, RawClient } from '../helpers/raw-client.js';

interface Proxied {
  port: number;
  lines: string[];
  stop(): Promise<void>;
}

async function proxiedBroker(
  extra: Partial<ListenerOptions>,
  options: Partial<BrokerOptions> = {},
): Promise<Proxied> {
  const lines: string[] = [];
  const logger = { enabled: () => true, log: (level: LogLevel, m: string) => lines.push(`${level}: ${m}`) };
  const broker = new Broker({ logger, options: { connectionMessages: true, connectTimeout: 1, ...options } });
  const [listener] = await broker.listen([{ port: 0, host: '127.0.0.1', proxyProtocol: 1, ...extra }]);
  return { port: listener!.port, lines, stop: () => broker.stop() };
}

const connect = (id: string): Buffer => encodePacket(connectPacket({ clientId: id }), 4);

function v2Header(family: 'tcp4' | 'tcp6', tlvs: Buffer = Buffer.alloc(0), command = 0x21): Buffer {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const addr =
    family === 'tcp4'
      ? Buffer.from([127, 9, 8, 7, 127, 0, 0, 1, 0x11, 0xd7, 0x07, 0x5b]) // 127.9.8.7:4567 -> 127.0.0.1:1883
      : Buffer.concat([
          Buffer.from('00000000000000000000000000000001', 'hex'),
          Buffer.from('00000000000000000000000000000001', 'hex'),
          Buffer.from([0x11, 0xd7, 0x07, 0x5b]),
        ]);
  const body = Buffer.concat([addr, tlvs]);
  const head = Buffer.from([command, family === 'tcp4' ? 0x11 : 0x21, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([sig, head, body]);
}

/** PP2_TYPE_SSL with PP2_CLIENT_SSL set, verify = 0, and a PP2_SUBTYPE_SSL_VERSION sub-TLV. */
function sslTlv(): Buffer {
  const version = Buffer.from('TLSv1.3');
  const sub = Buffer.concat([Buffer.from([0x21, 0, version.length]), version]);
  const value = Buffer.concat([Buffer.from([0x01, 0, 0, 0, 0]), sub]);
  return Buffer.concat([Buffer.from([0x20, value.length >> 8, value.length & 0xff]), value]);
}

/** PP2_TYPE_SSL: TLS with a verified client certificate (PP2_CLIENT_SSL | PP2_CLIENT_CERT_SESS) and its CN. */
function certTlv(cn: string): Buffer {
  const name = Buffer.from(cn);
  const sub = Buffer.concat([Buffer.from([0x22, 0, name.length]), name]);
  const value = Buffer.concat([Buffer.from([0x05, 0, 0, 0, 0]), sub]);
  return Buffer.concat([Buffer.from([0x20, value.length >> 8, value.length & 0xff]), value]);
}

async function expectConnack(port: number, bytes: Buffer[] | Buffer): Promise<void> {
  const c = await RawClient.open(port);
  for (const b of Array.isArray(bytes) ? bytes : [bytes]) {
    c.socket.write(b);
    await new Promise((r) => setImmediate(r));
  }
  const connack = await c.next();
  assert.equal(connack.type, 2);
  c.socket.destroy();
}

async function expectRefused(port: number, bytes: Buffer): Promise<void> {
  const c = await RawClient.open(port);
  c.socket.write(bytes);
  assert.equal(await c.waitClosed(3000), true, 'the broker closes the connection');
  assert.equal(c.received.length, 0, 'and answers nothing');
}

test('2.1 manual: enable_proxy_protocol 1 takes the client address from the v1 header, even sent byte by byte', async () => {
  const b = await proxiedBroker({});
  try {
    const header = Buffer.from('PROXY TCP4 127.9.8.7 127.0.0.1 4567 1883\r\n');
    await expectConnack(b.port, Buffer.concat([header, connect('one-write')]));
    await expectConnack(b.port, [...[...header].map((x) => Buffer.from([x])), connect('bytewise')]);
    await expectConnack(
      b.port,
      Buffer.concat([Buffer.from('PROXY TCP6 ::1 ::1 4567 1883\r\n'), connect('v6')]),
    );
    assert.ok(
      b.lines.some((l) => /New client connected from 127\.9\.8\.7:4567 as one-write/.test(l)),
      b.lines.join('\n'),
    );
    assert.ok(b.lines.some((l) => /New client connected from 127\.9\.8\.7:4567 as bytewise/.test(l)));
    assert.ok(b.lines.some((l) => /New client connected from ::1:4567 as v6/.test(l)));
  } finally {
    await b.stop();
  }
});

test('2.1 manual: a v1 listener refuses a missing, corrupt, addressless or oversized header', async () => {
  const b = await proxiedBroker({});
  try {
    await expectRefused(b.port, connect('no-header'));
    await expectRefused(b.port, Buffer.from('PROXY TCP4 127.9.8.7 nonsense 4567 1883\r\n'));
    await expectRefused(b.port, Buffer.from('PROXY UNKNOWN\r\n'));
    // Bound: a v1 line is at most 107 bytes (proxy-protocol.txt); no CRLF by then means no header.
    await expectRefused(b.port, Buffer.from(`PROXY TCP4 ${'1'.repeat(120)}`));
    assert.ok(b.lines.some((l) => /rejected, corrupt PROXY header/.test(l)));
  } finally {
    await b.stop();
  }
});

test('2.1 manual: a header that never comes is dropped after the connect timeout', async () => {
  const b = await proxiedBroker({});
  try {
    const c = await RawClient.open(b.port);
    c.socket.write('PROXY TCP4 127.9');
    const started = Date.now();
    assert.equal(await c.waitClosed(4000), true);
    assert.ok(Date.now() - started >= 800, 'not before the deadline');
    assert.ok(b.lines.some((l) => /no PROXY header within 1000 ms/.test(l)));
  } finally {
    await b.stop();
  }
});

test('2.1 proxy_v2.c: enable_proxy_protocol 2 reads IPv4 / IPv6 addresses and skips TLVs; LOCAL is refused', async () => {
  const b = await proxiedBroker({ proxyProtocol: 2 });
  try {
    await expectConnack(b.port, Buffer.concat([v2Header('tcp4'), connect('v2-four')]));
    await expectConnack(b.port, Buffer.concat([v2Header('tcp6', sslTlv()), connect('v2-six')]));
    assert.ok(b.lines.some((l) => /New client connected from 127\.9\.8\.7:4567 as v2-four/.test(l)));
    assert.ok(b.lines.some((l) => /New client connected from ::1:4567 as v2-six/.test(l)));
    await expectRefused(b.port, Buffer.concat([v2Header('tcp4', Buffer.alloc(0), 0x20), connect('local')]));
    // Bound: Mosquitto 2.1's PROXY_PACKET_LIMIT, 500 bytes after the 16-byte fixed part.
    const big = v2Header('tcp4', Buffer.concat([Buffer.from([0x04, 0x01, 0xf4]), Buffer.alloc(500)]));
    await expectRefused(b.port, Buffer.concat([big, connect('big')]));
    // A v1 header on a v2 listener is not a header.
    await expectRefused(b.port, Buffer.from('PROXY TCP4 127.9.8.7 127.0.0.1 4567 1883\r\n'));
  } finally {
    await b.stop();
  }
});

test('2.1 manual: proxy_protocol_v2_require_tls refuses clients the proxy did not see use TLS', async () => {
  const b = await proxiedBroker({ proxyProtocol: 2, proxyProtocolV2RequireTls: true });
  try {
    await expectRefused(b.port, Buffer.concat([v2Header('tcp4'), connect('plain')]));
    assert.ok(
      b.lines.some((l) =>
        /Connection from 127\.9\.8\.7:4567 rejected, client did not connect using TLS\./.test(l),
      ),
    );
    await expectConnack(b.port, Buffer.concat([v2Header('tcp4', sslTlv()), connect('tls')]));
  } finally {
    await b.stop();
  }
});

test('2.1 proxy_v2.c: require_certificate and use_identity_as_username judge the certificate the v2 header reports', async () => {
  const b = await proxiedBroker({
    proxyProtocol: 2,
    proxyClientCertificate: { require: true, identityAsUsername: true },
  });
  try {
    await expectRefused(b.port, Buffer.concat([v2Header('tcp4', sslTlv()), connect('no-cert')]));
    assert.ok(b.lines.some((l) => /rejected, client did not provide a certificate\./.test(l)));
    await expectConnack(b.port, Buffer.concat([v2Header('tcp4', certTlv('alice')), connect('with-cert')]));
    assert.ok(
      b.lines.some((l) => /as with-cert \(p2, c1, k60, u'alice'\)/.test(l)),
      b.lines.join('\n'),
    );
  } finally {
    await b.stop();
  }
});

test('2.1 manual: require_certificate on a plain PROXY listener is kept for the v2 header, not dropped', () => {
  const c = parseConfigText(
    'listener 1883\nenable_proxy_protocol 2\nrequire_certificate true\nuse_identity_as_username true\n',
    'p.conf',
  );
  assert.deepEqual(c.listeners[0]?.proxyClientCertificate, { require: true, identityAsUsername: true });
  assert.equal(c.listeners[0]?.tls, undefined);
});

test('2.1 manual: the auth-failure delay counts failures per proxied client address, not per proxy', async () => {
  const b = await proxiedBroker(
    {},
    { allowAnonymous: false, authFailureDelay: 100, authFailureDelayMax: 5000 },
  );
  try {
    const failFrom = async (ip: string): Promise<number> => {
      const c = await RawClient.open(b.port);
      const started = Date.now();
      c.socket.write(Buffer.from(`PROXY TCP4 ${ip} 127.0.0.1 4567 1883\r\n`));
      const ack = await c.handshake({ clientId: `from-${ip}`, username: 'nobody', password: 'wrong' });
      assert.equal(ack.reasonCode, 5);
      c.socket.destroy();
      return Date.now() - started;
    };
    // Three failures from one address: 100, 200 then 400 ms.
    for (let i = 0; i < 3; i++) await failFrom('127.9.8.7');
    assert.ok((await failFrom('127.9.8.7')) >= 700, 'the fourth from the same address waits 800 ms');
    // Another client behind the same proxy starts from the base delay.
    assert.ok((await failFrom('127.9.8.8')) < 600, 'another address is not slowed by the first');
  } finally {
    await b.stop();
  }
});
