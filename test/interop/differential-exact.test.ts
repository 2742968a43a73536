// Differential checks of the "Mosquitto-exact" items (issue 11): answers where Culex used to differ from
// Mosquitto 2.0.11 although the specification allows Mosquitto's answer. Same bytes to both, bytes back compared.

import type { Packet, PublishPacket, QoS } from '../../src/protocol/packets.js';
import type { Properties } from '../../src/protocol/properties.js';
import type { Script } from '../helpers/conversation.js';
import { publishPacket } from '../helpers/raw-client.js';
import { type DiffCase, differentialSuite, passwordLine } from './differential-harness.js';

const sub5 = (id: number, filter: string, qos: QoS, more: { noLocal?: boolean } = {}): Packet => ({
  type: 8,
  packetId: id,
  subscriptions: [
    { topicFilter: filter, qos, noLocal: more.noLocal ?? false, retainAsPublished: false, retainHandling: 0 },
  ],
});
const pub5 = (topic: string, qos: QoS, id: number, properties?: Properties): Packet => {
  const p = publishPacket(topic, 'x', qos, id);
  if (properties !== undefined && p.type === 3) p.properties = properties;
  return p;
};

const c = (name: string, script: Script): DiffCase => ({ name, script });

const credentials: DiffCase[] = [];
for (const version of [3, 4, 5] as const) {
  credentials.push(
    c(`v${version} wrong password`, async (t) => {
      await t.connect('a', { clientId: `cr-w${version}`, version, username: 'u', password: 'nope' });
      await t.closed('a');
    }),
    c(`v${version} unknown user`, async (t) => {
      await t.connect('a', { clientId: `cr-u${version}`, version, username: 'who', password: 'p' });
      await t.closed('a');
    }),
    c(`v${version} user name without password`, async (t) => {
      await t.connect('a', { clientId: `cr-n${version}`, version, username: 'u' });
      await t.closed('a');
    }),
    c(`v${version} anonymous`, async (t) => {
      await t.connect('a', { clientId: `cr-a${version}`, version });
      await t.closed('a');
    }),
    c(`v${version} right password`, async (t) => {
      await t.connect('a', { clientId: `cr-r${version}`, version, username: 'u', password: 'p' });
      t.send('a', { type: 12 });
      await t.read('a', 1);
    }),
  );
}

const wire: DiffCase[] = [];
for (const version of [4, 5] as const) {
  const v = `v${version}`;
  wire.push(
    c(`${v} PUBCOMP for an in-flight QoS 1 message`, async (t) => {
      await t.connect('s', { clientId: `wa-c1${v}`, version });
      t.send('s', sub5(1, `wa/c1${v}`, 1));
      await t.read('s', 1);
      await t.connect('p', { clientId: `wa-c1p${v}`, version });
      t.send('p', publishPacket(`wa/c1${v}`, 'x', 1, 1));
      await t.read('p', 1);
      await t.read('s', 1);
      t.send('s', version === 5 ? [0x70, 0x03, 0x00, 0x01, 0x00] : [0x70, 0x02, 0x00, 0x01]);
      await t.read('s', 1);
    }),
    c(`${v} PUBREC for an in-flight QoS 1 message`, async (t) => {
      await t.connect('s', { clientId: `wa-r1${v}`, version });
      t.send('s', sub5(1, `wa/r1${v}`, 1));
      await t.read('s', 1);
      await t.connect('p', { clientId: `wa-r1p${v}`, version });
      t.send('p', publishPacket(`wa/r1${v}`, 'x', 1, 1));
      await t.read('p', 1);
      await t.read('s', 1);
      t.send('s', [0x50, 0x02, 0x00, 0x01]);
      await t.read('s', 1);
    }),
    c(`${v} PUBACK for an in-flight QoS 2 message`, async (t) => {
      await t.connect('s', { clientId: `wa-a2${v}`, version });
      t.send('s', sub5(1, `wa/a2${v}`, 2));
      await t.read('s', 1);
      await t.connect('p', { clientId: `wa-a2p${v}`, version });
      t.send('p', publishPacket(`wa/a2${v}`, 'x', 2, 1));
      await t.read('p', 1);
      t.send('p', { type: 6, packetId: 1, reasonCode: 0 });
      await t.read('p', 1);
      await t.read('s', 1);
      t.send('s', [0x40, 0x02, 0x00, 0x01]);
      await t.read('s', 1);
    }),
    c(`${v} PUBCOMP for an in-flight QoS 2 message before PUBREC`, async (t) => {
      await t.connect('s', { clientId: `wa-c2${v}`, version });
      t.send('s', sub5(1, `wa/c2${v}`, 2));
      await t.read('s', 1);
      await t.connect('p', { clientId: `wa-c2p${v}`, version });
      t.send('p', publishPacket(`wa/c2${v}`, 'x', 2, 1));
      await t.read('p', 1);
      t.send('p', { type: 6, packetId: 1, reasonCode: 0 });
      await t.read('p', 1);
      await t.read('s', 1);
      t.send('s', [0x70, 0x02, 0x00, 0x01]);
      await t.read('s', 1);
    }),
    c(`${v} PUBREC twice for a QoS 2 message`, async (t) => {
      await t.connect('s', { clientId: `wa-rr${v}`, version });
      t.send('s', sub5(1, `wa/rr${v}`, 2));
      await t.read('s', 1);
      await t.connect('p', { clientId: `wa-rrp${v}`, version });
      t.send('p', publishPacket(`wa/rr${v}`, 'x', 2, 1));
      await t.read('p', 1);
      t.send('p', { type: 6, packetId: 1, reasonCode: 0 });
      await t.read('p', 1);
      await t.read('s', 1);
      t.send('s', [0x50, 0x02, 0x00, 0x01]);
      await t.read('s', 1);
      t.send('s', [0x50, 0x02, 0x00, 0x01]);
      await t.read('s', 1);
    }),
  );
}

const v5: DiffCase[] = [
  c('PUBLISH QoS 1 with no subscriber: PUBACK reason', async (t) => {
    await t.connect('p', { clientId: 'nm-1', version: 5 });
    t.send('p', pub5('nm/none', 1, 1));
    await t.read('p', 1);
  }),
  c('PUBLISH QoS 2 with no subscriber: PUBREC reason', async (t) => {
    await t.connect('p', { clientId: 'nm-2', version: 5 });
    t.send('p', pub5('nm/none2', 2, 1));
    await t.read('p', 1);
    t.send('p', { type: 6, packetId: 1, reasonCode: 0 });
    await t.read('p', 1);
  }),
  c('PUBLISH QoS 1 to a topic beside a subscribed one', async (t) => {
    await t.connect('s', { clientId: 'nm-bs', version: 5 });
    t.send('s', sub5(1, 'nm/bs/a', 1));
    await t.read('s', 1);
    await t.connect('p', { clientId: 'nm-bp', version: 5 });
    t.send('p', pub5('nm/bs/b', 1, 1));
    await t.read('p', 1);
  }),
  c('PUBLISH QoS 1 retained with no subscriber', async (t) => {
    await t.connect('p', { clientId: 'nm-rt', version: 5 });
    t.send('p', { ...(pub5('nm/rt', 1, 1) as PublishPacket), retain: true });
    await t.read('p', 1);
    t.send('p', { ...(pub5('nm/rt', 1, 2) as PublishPacket), retain: true, payload: Buffer.alloc(0) });
    await t.read('p', 1);
  }),
  c('PUBLISH QoS 1 matching only a shared subscription', async (t) => {
    await t.connect('s', { clientId: 'nm-sh', version: 5 });
    t.send('s', sub5(1, '$share/g/nm/sh', 1));
    await t.read('s', 1);
    await t.connect('p', { clientId: 'nm-shp', version: 5 });
    t.send('p', pub5('nm/sh', 1, 1));
    await t.read('p', 1);
    await t.read('s', 1);
  }),
  c('PUBLISH QoS 1 matching only an offline session', async (t) => {
    await t.connect('s', {
      clientId: 'nm-off',
      version: 5,
      clean: false,
      properties: { sessionExpiryInterval: 60 },
    });
    t.send('s', sub5(1, 'nm/off', 1));
    await t.read('s', 1);
    t.send('s', [0xe0, 0x00]);
    await t.closed('s');
    await t.connect('p', { clientId: 'nm-offp', version: 5 });
    t.send('p', pub5('nm/off', 1, 1));
    await t.read('p', 1);
  }),
  c('PUBLISH QoS 1 matching only its own no-local subscription', async (t) => {
    await t.connect('p', { clientId: 'nm-nl', version: 5 });
    t.send('p', sub5(1, 'nm/nl', 1, { noLocal: true }));
    await t.read('p', 1);
    t.send('p', pub5('nm/nl', 1, 2));
    await t.read('p', 1);
    await t.quiet('p', 200);
  }),
  c('forwarded properties keep their order', async (t) => {
    await t.connect('s', { clientId: 'fp-s', version: 5 });
    t.send('s', sub5(1, 'fp/x', 1));
    await t.read('s', 1);
    await t.connect('p', { clientId: 'fp-p', version: 5 });
    t.send('p', [
      ...Buffer.from(
        // PUBLISH QoS 1 'fp/x' id 1, properties: user (a,b), content type 'ct', response topic 'r', user (c,d),
        // payload format 1, correlation data 'k'.
        '32' +
          '27' +
          '0004' +
          Buffer.from('fp/x').toString('hex') +
          '0001' +
          '1d' +
          '26000161000162' +
          '0300026374' +
          '08000172' +
          '26000163000164' +
          '0101' +
          '0900016b' +
          '78',
        'hex',
      ),
    ]);
    await t.read('p', 1);
    await t.read('s', 1);
  }),
  c('CONNACK with an assigned client identifier: properties and id format', async (t) => {
    await t.open('a');
    // v5 CONNECT, clean start, keepalive 60, no properties, empty client id.
    t.send('a', [0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00]);
    await t.read('a', 1);
  }),
  c('CONNACK larger than the Maximum Packet Size of the client', async (t) => {
    await t.connect('a', { clientId: '', version: 5, properties: { maximumPacketSize: 20 } });
    await t.closed('a', 500);
  }),
  c('second CONNECT', async (t) => {
    await t.connect('a', { clientId: 'v5-twice', version: 5 });
    t.send('a', [0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00]);
    await t.read('a', 1);
  }),
  c('malformed packet (PUBLISH with an empty topic)', async (t) => {
    await t.connect('a', { clientId: 'v5-mal', version: 5 });
    t.send('a', [0x30, 0x04, 0x00, 0x00, 0x00, 0x78]);
    await t.read('a', 1);
  }),
  c('malformed packet (SUBSCRIBE with reserved flags)', async (t) => {
    await t.connect('a', { clientId: 'v5-mal2', version: 5 });
    t.send('a', [0x80, 0x07, 0x00, 0x01, 0x00, 0x00, 0x01, 0x61, 0x00]);
    await t.read('a', 1);
  }),
];

const sessions: DiffCase[] = [];
for (const version of [3, 4, 5] as const) {
  const v = `v${version}`;
  sessions.push(
    c(`${v} CONNACK on resuming a session`, async (t) => {
      const properties = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
      await t.connect('a', { clientId: `ss-${v}`, version, clean: false, properties });
      t.send('a', [0xe0, 0x00]);
      await t.closed('a');
      await t.connect('b', { clientId: `ss-${v}`, version, clean: false, properties });
    }),
    c(`${v} will of a persistent session taken over by a persistent connection`, async (t) => {
      const properties = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
      await t.connect('w', { clientId: `tw-w${v}`, version });
      t.send('w', sub5(1, `tw/${v}`, 1));
      await t.read('w', 1);
      const will = { topic: `tw/${v}`, payload: 'gone', qos: 1 as const };
      await t.connect('a', { clientId: `tw-${v}`, version, clean: false, will, properties });
      await t.connect('b', { clientId: `tw-${v}`, version, clean: false, properties });
      await t.read('a', 1);
      await t.read('w', 1, 500);
    }),
    c(`${v} will of a session taken over by a clean connection`, async (t) => {
      const properties = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
      await t.connect('w', { clientId: `tc-w${v}`, version });
      t.send('w', sub5(1, `tc/${v}`, 1));
      await t.read('w', 1);
      const will = { topic: `tc/${v}`, payload: 'gone', qos: 1 as const };
      await t.connect('a', { clientId: `tc-${v}`, version, clean: false, will, properties });
      await t.connect('b', { clientId: `tc-${v}`, version, clean: true });
      await t.read('a', 1);
      await t.read('w', 1, 500);
    }),
    c(`${v} will of a clean session taken over`, async (t) => {
      await t.connect('w', { clientId: `tk-w${v}`, version });
      t.send('w', sub5(1, `tk/${v}`, 1));
      await t.read('w', 1);
      const will = { topic: `tk/${v}`, payload: 'gone', qos: 1 as const };
      await t.connect('a', { clientId: `tk-${v}`, version, clean: true, will });
      await t.connect('b', { clientId: `tk-${v}`, version, clean: false });
      await t.read('a', 1);
      await t.read('w', 1, 500);
    }),
    c(`${v} queued messages are numbered when queued`, async (t) => {
      const properties = version === 5 ? { sessionExpiryInterval: 60 } : undefined;
      await t.connect('a', { clientId: `qn-${v}`, version, clean: false, properties });
      t.send('a', sub5(1, `qn/${v}/+`, 2));
      await t.read('a', 1);
      t.send('a', [0xe0, 0x00]);
      await t.closed('a');
      await t.connect('p', { clientId: `qn-p${v}`, version });
      t.send('p', publishPacket(`qn/${v}/a`, '1', 1, 1));
      t.send('p', publishPacket(`qn/${v}/b`, '2', 0));
      t.send('p', publishPacket(`qn/${v}/c`, '3', 1, 2));
      await t.read('p', 2);
      await t.connect('b', { clientId: `qn-${v}`, version, clean: false, properties });
      await t.read('b', 3);
    }),
  );
}

differentialSuite(
  [
    {
      title: 'credentials',
      conf: ['allow_anonymous false', 'password_file {dir}/passwd'],
      files: { passwd: `${passwordLine('u', 'p')}\n` },
      cases: credentials,
    },
    { title: 'acknowledgements', conf: ['allow_anonymous true'], cases: wire },
    { title: 'v5', conf: ['allow_anonymous true'], cases: v5 },
    { title: 'sessions', conf: ['allow_anonymous true'], cases: sessions },
  ],
  (name) =>
    /^sessions: v5 will of .* taken over/.test(name)
      ? 'Culex sends DISCONNECT 0x8E (Session taken over) to the old MQTT 5 connection [MQTT-3.1.4-3]'
      : undefined,
);
