// fast-check generators of valid MQTT packets for each protocol level (shared by round-trip, differential, fuzz).

import fc from 'fast-check';
import type { Packet, ProtocolVersion, QoS, Subscription, Will } from '../../src/protocol/packets.js';
import { type Properties, type PropertyName, WILL_PROPERTIES } from '../../src/protocol/properties.js';
import { checkUtf8String } from '../../src/protocol/utf8.js';

export interface GenOptions {
  /** Restrict strings to printable ASCII (the mqtt-packet oracle is lenient about other code points). */
  asciiOnly?: boolean;
}

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 12,
});

function str(o: GenOptions): fc.Arbitrary<string> {
  if (o.asciiOnly) return printable;
  return fc
    .oneof(printable, fc.string({ unit: 'grapheme', maxLength: 8 }))
    .filter((s) => checkUtf8String(s) === null);
}

function level(o: GenOptions): fc.Arbitrary<string> {
  return str(o).filter((s) => !/[+#/]/.test(s));
}

export function topicName(o: GenOptions = {}): fc.Arbitrary<string> {
  return fc
    .array(level(o), { minLength: 1, maxLength: 4 })
    .map((l) => l.join('/'))
    .filter((t) => t.length > 0);
}

export function topicFilter(o: GenOptions = {}): fc.Arbitrary<string> {
  const lvl = fc.oneof(level(o), fc.constant('+'));
  return fc
    .tuple(fc.array(lvl, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([l, hash]) => (hash ? [...l, '#'] : l).join('/'))
    .filter((t) => t.length > 0);
}

const bytes = (max = 32) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const u16nz = fc.integer({ min: 1, max: 65535 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bit = fc.integer({ min: 0, max: 1 });

function valueArb(name: PropertyName, o: GenOptions): fc.Arbitrary<unknown> {
  switch (name) {
    case 'payloadFormatIndicator':
    case 'requestProblemInformation':
    case 'requestResponseInformation':
    case 'maximumQoS':
    case 'retainAvailable':
    case 'wildcardSubscriptionAvailable':
    case 'subscriptionIdentifierAvailable':
    case 'sharedSubscriptionAvailable':
      return bit;
    case 'serverKeepAlive':
      return fc.integer({ min: 0, max: 65535 });
    case 'receiveMaximum':
    case 'topicAlias':
      return u16nz;
    case 'topicAliasMaximum':
      return fc.integer({ min: 0, max: 65535 });
    case 'maximumPacketSize':
      return fc.integer({ min: 1, max: 0xffffffff });
    case 'messageExpiryInterval':
    case 'sessionExpiryInterval':
    case 'willDelayInterval':
      return u32;
    case 'subscriptionIdentifiers':
      return fc.array(fc.integer({ min: 1, max: 268435455 }), { minLength: 1, maxLength: 3 });
    case 'correlationData':
    case 'authenticationData':
      return bytes(16);
    case 'userProperties':
      return fc.array(fc.tuple(str(o), str(o)), { minLength: 1, maxLength: 3 });
    case 'responseTopic':
      return topicName(o);
    default:
      return str(o);
  }
}

const ALLOWED: Record<number, PropertyName[]> = {
  1: [
    'sessionExpiryInterval',
    'authenticationMethod',
    'authenticationData',
    'requestProblemInformation',
    'requestResponseInformation',
    'receiveMaximum',
    'topicAliasMaximum',
    'userProperties',
    'maximumPacketSize',
  ],
  2: [
    'sessionExpiryInterval',
    'assignedClientIdentifier',
    'serverKeepAlive',
    'authenticationMethod',
    'authenticationData',
    'responseInformation',
    'serverReference',
    'reasonString',
    'receiveMaximum',
    'topicAliasMaximum',
    'maximumQoS',
    'retainAvailable',
    'userProperties',
    'maximumPacketSize',
    'wildcardSubscriptionAvailable',
    'subscriptionIdentifierAvailable',
    'sharedSubscriptionAvailable',
  ],
  3: [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'subscriptionIdentifiers',
    'topicAlias',
    'userProperties',
  ],
  4: ['reasonString', 'userProperties'],
  8: ['subscriptionIdentifiers', 'userProperties'],
  10: ['userProperties'],
  14: ['sessionExpiryInterval', 'serverReference', 'reasonString', 'userProperties'],
  15: ['authenticationMethod', 'authenticationData', 'reasonString', 'userProperties'],
  [WILL_PROPERTIES]: [
    'payloadFormatIndicator',
    'messageExpiryInterval',
    'contentType',
    'responseTopic',
    'correlationData',
    'willDelayInterval',
    'userProperties',
  ],
};
for (const t of [5, 6, 7, 9, 11]) ALLOWED[t] = ALLOWED[4] as PropertyName[];

/** Properties valid in `context`, or undefined (never an empty object). */
export function properties(context: number, o: GenOptions = {}): fc.Arbitrary<Properties | undefined> {
  const keys = ALLOWED[context] ?? [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const k of keys) {
    let arb = valueArb(k, o);
    if (k === 'subscriptionIdentifiers' && context === 8)
      arb = fc.integer({ min: 1, max: 268435455 }).map((n) => [n]);
    model[k] = arb;
  }
  return fc
    .record(model, { requiredKeys: [] })
    .map((p) => (Object.keys(p).length === 0 ? undefined : (p as Properties)));
}

function withProps<T extends object>(p: T, props: Properties | undefined): T {
  return props === undefined ? p : { ...p, properties: props };
}

const qos = fc.constantFrom<QoS>(0, 1, 2);

function will(v: ProtocolVersion, o: GenOptions): fc.Arbitrary<Will> {
  return fc
    .record({
      topic: topicName(o),
      payload: bytes(),
      qos,
      retain: fc.boolean(),
      props: v === 5 ? properties(WILL_PROPERTIES, o) : fc.constant(undefined),
    })
    .map(({ props, ...w }) => withProps<Will>(w, props));
}

function connect(v: ProtocolVersion, o: GenOptions): fc.Arbitrary<Packet> {
  return fc
    .record({
      cleanStart: fc.boolean(),
      keepAlive: fc.integer({ min: 0, max: 65535 }),
      clientId: str(o),
      will: fc.option(will(v, o), { nil: undefined }),
      username: fc.option(str(o), { nil: undefined }),
      password: fc.option(bytes(), { nil: undefined }),
      props: v === 5 ? properties(1, o) : fc.constant(undefined),
    })
    .map(({ will: w, username, password, props, ...rest }) => {
      const p: Packet = { type: 1, protocolName: v === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: v, ...rest };
      if (w !== undefined) p.will = w;
      if (username !== undefined) p.username = username;
      // 3.1 / 3.1.1 forbid a password without a user name [MQTT-3.1.2-22].
      if (password !== undefined && (v === 5 || username !== undefined)) p.password = password;
      return withProps(p, props);
    });
}

function subscription(v: ProtocolVersion, o: GenOptions): fc.Arbitrary<Subscription> {
  if (v !== 5) {
    return fc
      .record({ topicFilter: topicFilter(o), qos })
      .map((s) => ({ ...s, noLocal: false, retainAsPublished: false, retainHandling: 0 as const }));
  }
  return fc.oneof(
    fc.record({
      topicFilter: topicFilter(o),
      qos,
      noLocal: fc.boolean(),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    }),
    fc.record({
      topicFilter: fc
        .tuple(
          level(o).filter((g) => g.length > 0),
          topicFilter(o),
        )
        .map(([g, f]) => `$share/${g}/${f}`),
      qos,
      noLocal: fc.constant(false),
      retainAsPublished: fc.boolean(),
      retainHandling: fc.constantFrom<0 | 1 | 2>(0, 1, 2),
    }),
  );
}

const ackCodes: Record<number, number[]> = {
  4: [0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  5: [0, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
  6: [0, 0x92],
  7: [0, 0x92],
};

const CONNACK_CODES = [
  0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8c, 0x90, 0x95, 0x97, 0x99, 0x9a,
  0x9b, 0x9c, 0x9d, 0x9f,
];
const SUBACK_CODES = [0, 1, 2, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const UNSUBACK_CODES = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const DISCONNECT_CODES = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97,
  0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
];

/** Any valid packet of any type at level `v`. */
export function packet(v: ProtocolVersion, o: GenOptions = {}): fc.Arbitrary<Packet> {
  const v5 = v === 5;
  const props = (ctx: number) => (v5 ? properties(ctx, o) : fc.constant(undefined));
  const arbs: fc.Arbitrary<Packet>[] = [
    connect(v, o),
    fc
      .record({
        sp: fc.boolean(),
        rc: v5 ? fc.constantFrom(...CONNACK_CODES) : fc.integer({ min: 0, max: 5 }),
        props: props(2),
      })
      .map(({ sp, rc, props: p }) => withProps<Packet>({ type: 2, sessionPresent: sp, reasonCode: rc }, p)),
    fc
      .record({
        topic: topicName(o),
        payload: bytes(64),
        qos,
        retain: fc.boolean(),
        dup: fc.boolean(),
        id: u16nz,
        props: props(3),
      })
      .map(({ topic, payload, qos: q, retain, dup, id, props: p }) =>
        withProps<Packet>(
          { type: 3, topic, payload, qos: q, retain, dup: q > 0 && dup, packetId: q > 0 ? id : 0 },
          p,
        ),
      ),
    fc.constantFrom<4 | 5 | 6 | 7>(4, 5, 6, 7).chain((type) =>
      fc
        .record({
          id: u16nz,
          rc: v5 ? fc.constantFrom(...(ackCodes[type] as number[])) : fc.constant(0),
          props: props(type),
        })
        .map(({ id, rc, props: p }) => withProps<Packet>({ type, packetId: id, reasonCode: rc }, p)),
    ),
    fc
      .record({
        id: u16nz,
        subs: fc.array(subscription(v, o), { minLength: 1, maxLength: 4 }),
        props: props(8),
      })
      .map(({ id, subs, props: p }) => withProps<Packet>({ type: 8, packetId: id, subscriptions: subs }, p)),
    fc
      .record({
        id: u16nz,
        codes: fc.array(v5 ? fc.constantFrom(...SUBACK_CODES) : fc.constantFrom(0, 1, 2, 0x80), {
          minLength: 1,
          maxLength: 4,
        }),
        props: props(9),
      })
      .map(({ id, codes, props: p }) => withProps<Packet>({ type: 9, packetId: id, reasonCodes: codes }, p)),
    fc
      .record({
        id: u16nz,
        filters: fc.array(topicFilter(o), { minLength: 1, maxLength: 4 }),
        props: props(10),
      })
      .map(({ id, filters, props: p }) =>
        withProps<Packet>({ type: 10, packetId: id, topicFilters: filters }, p),
      ),
    fc
      .record({
        id: u16nz,
        codes: v5
          ? fc.array(fc.constantFrom(...UNSUBACK_CODES), { maxLength: 4 })
          : fc.constant<number[]>([]),
        props: props(11),
      })
      .map(({ id, codes, props: p }) => withProps<Packet>({ type: 11, packetId: id, reasonCodes: codes }, p)),
    fc.constant<Packet>({ type: 12 }),
    fc.constant<Packet>({ type: 13 }),
    fc
      .record({ rc: v5 ? fc.constantFrom(...DISCONNECT_CODES) : fc.constant(0), props: props(14) })
      .map(({ rc, props: p }) => withProps<Packet>({ type: 14, reasonCode: rc }, p)),
  ];
  if (v5) {
    arbs.push(
      fc
        .record({ rc: fc.constantFrom(0, 0x18, 0x19), props: props(15) })
        .map(({ rc, props: p }) => withProps<Packet>({ type: 15, reasonCode: rc }, p)),
    );
  }
  return fc.oneof(...arbs);
}

export const version = fc.constantFrom<ProtocolVersion>(3, 4, 5);
