// The permission matrix of the dynamic-security plugin: publish, subscribe, unsubscribe and receive decisions for
// clients whose roles, groups and priorities overlap, decided by the real mosquitto with Debian's
// mosquitto_dynamic_security.so and required to match Culex's decisions cell for cell.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet } from '../../src/protocol/packets.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { clientEntry, type Doc, oracleSkip, startPair } from './dynsec-fixture.js';

const acl = (acltype: string, topic: string, allow: boolean, priority = 0): Doc => ({
  acltype,
  topic,
  priority,
  allow,
});

const ROLES: Doc[] = [
  {
    rolename: 'rA',
    acls: [
      acl('publishClientSend', 'm/#', true, 1),
      acl('publishClientSend', 'm/x', false, 5),
      acl('publishClientReceive', 'm/+', false, 2),
      acl('publishClientReceive', 'm/#', true, 1),
      acl('subscribeLiteral', 'm/lit', false),
      acl('subscribePattern', 'm/#', true, 0),
      acl('subscribePattern', 'm/+/deep', false, 3),
      acl('unsubscribePattern', 'm/#', false),
      acl('unsubscribeLiteral', 'm/u', true),
    ],
  },
  {
    rolename: 'rB',
    acls: [
      acl('publishClientSend', 'm/x', true, 9),
      acl('publishClientSend', 'n/#', false),
      acl('publishClientReceive', 'n/#', true),
      acl('publishClientReceive', 'm/y', false, 4),
      acl('subscribePattern', 'n/#', true),
      acl('subscribePattern', '+/x', true, 2),
      acl('subscribePattern', '#', false, -1),
      acl('unsubscribePattern', '#', true),
    ],
  },
  {
    rolename: 'rC',
    acls: [
      acl('publishClientSend', '#', true),
      acl('publishClientSend', '$CONTROL/#', true),
      acl('subscribePattern', '$SYS/#', true),
      acl('subscribeLiteral', 'm/lit', true),
      acl('publishClientReceive', '#', false),
      acl('publishClientReceive', 'o', true, 3),
    ],
  },
  { rolename: 'subAll', acls: [acl('subscribePattern', '#', true)] },
  { rolename: 'pubAll', acls: [acl('publishClientSend', '#', true)] },
];

/** Clients u1..u5 with overlapping roles and groups; rN is uN plus a top-priority role allowing every SUBSCRIBE. */
const SHAPES: Record<
  string,
  { roles: { rolename: string; priority?: number }[]; groups: [string, number][] }
> = {
  u1: {
    roles: [
      { rolename: 'rA', priority: 2 },
      { rolename: 'rB', priority: 1 },
    ],
    groups: [],
  },
  u2: {
    roles: [
      { rolename: 'rB', priority: 5 },
      { rolename: 'rA', priority: 1 },
    ],
    groups: [],
  },
  u3: {
    roles: [],
    groups: [
      ['gLow', 1],
      ['gHigh', 5],
    ],
  },
  u4: { roles: [{ rolename: 'rA' }], groups: [['gHigh', -1]] },
  u5: {
    roles: [],
    groups: [
      ['gLow', -1],
      ['gHigh', -1],
    ],
  },
  u6: { roles: [{ rolename: 'rC', priority: -5 }], groups: [['gA', 3]] },
};

function document(): string {
  const clients: Doc[] = [clientEntry({ username: 'pub', password: 'pw', roles: [{ rolename: 'pubAll' }] })];
  const members: Record<string, Doc[]> = { gHigh: [], gLow: [], gA: [] };
  for (const [name, shape] of Object.entries(SHAPES)) {
    for (const [user, extra] of [
      [name, []],
      [`r${name.slice(1)}`, [{ rolename: 'subAll', priority: 100 }]],
    ] as const) {
      clients.push(clientEntry({ username: user, password: 'pw', roles: [...extra, ...shape.roles] }));
      for (const [group, priority] of shape.groups) members[group]!.push({ username: user, priority });
    }
  }
  const groups: Doc[] = [
    { groupname: 'gHigh', roles: [{ rolename: 'rB' }], clients: members.gHigh },
    { groupname: 'gLow', roles: [{ rolename: 'rC' }], clients: members.gLow },
    {
      groupname: 'gA',
      roles: [
        { rolename: 'rA', priority: 1 },
        { rolename: 'rC', priority: 1 },
      ],
      clients: members.gA,
    },
    { groupname: 'gAnon', roles: [{ rolename: 'rA' }], clients: [] },
  ];
  return JSON.stringify({
    defaultACLAccess: {
      publishClientSend: false,
      publishClientReceive: true,
      subscribe: false,
      unsubscribe: true,
    },
    clients,
    groups,
    anonymousGroup: 'gAnon',
    roles: ROLES,
  });
}

const PUBLISH_TOPICS = ['m/x', 'm/y', 'm/x/z', 'n/a', 'o', 'p/q', '$CONTROL/other/v1'];
const SUBSCRIBE_FILTERS = [
  '$share/g/m/#',
  '$share/g/n/a',
  '$share/g/#',
  'm/lit',
  'm/#',
  'm/a/deep',
  'm/+',
  'n/#',
  '#',
  'o',
  'a/x',
  '+/x',
  '$SYS/#',
  'q/+/r',
];
const UNSUBSCRIBE_FILTERS = ['$share/g/m/u', '$share/g/x', 'm/u', 'm/a', 'm/#', 'x', 'n/b', '#'];
const RECEIVE_TOPICS = ['m/x', 'm/y', 'm/a/b', 'n/a', 'o', 'p'];
const USERS = [...Object.keys(SHAPES), undefined];

async function connect(port: number, username: string | undefined): Promise<RawClient> {
  const c = await RawClient.open(port);
  c.version = 5;
  const ack = await c.handshake(
    username === undefined
      ? { version: 5 }
      : { version: 5, username, password: 'pw', clientId: `c-${username}` },
  );
  assert.equal((ack as { reasonCode: number }).reasonCode, 0, `login of ${username ?? 'anonymous'}`);
  return c;
}

/** One broker's decisions: `kind user topic` -> allow/deny. */
async function decisions(port: number): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let id = 1;
  for (const user of USERS) {
    const who = user ?? 'anonymous';
    const c = await connect(port, user);
    for (const topic of PUBLISH_TOPICS) {
      c.send(publishPacket(topic, 'x', 1, id));
      const ack = (await c.nextOfType(4)) as unknown as { reasonCode: number };
      out.set(`publish ${who} ${topic}`, ack.reasonCode >= 0x80 ? 'deny' : 'allow');
      id++;
    }
    for (const filter of SUBSCRIBE_FILTERS) {
      const [code] = await subscribe(c, id++, [[filter, 0]]);
      out.set(`subscribe ${who} ${filter}`, (code ?? 0x80) >= 0x80 ? 'deny' : 'allow');
    }
    for (const filter of UNSUBSCRIBE_FILTERS) {
      c.send({ type: 10, packetId: id, topicFilters: [filter] });
      const ack = (await c.nextOfType(11)) as Extract<Packet, { type: 11 }>;
      out.set(`unsubscribe ${who} ${filter}`, (ack.reasonCodes[0] ?? 0x80) >= 0x80 ? 'deny' : 'allow');
      id++;
    }
    c.disconnect();
  }
  // Receiving: rN (uN whose every SUBSCRIBE is allowed) subscribes to '#', pub publishes each topic.
  const publisher = await connect(port, 'pub');
  for (const user of [...Object.keys(SHAPES).map((u) => `r${u.slice(1)}`), undefined]) {
    const who = user ?? 'anonymous';
    const c = await connect(port, user);
    const [granted] = await subscribe(c, 1, [[user === undefined ? 'm/#' : '#', 0]]);
    assert.ok((granted ?? 0x80) < 0x80, `${who} may subscribe`);
    for (const topic of RECEIVE_TOPICS) publisher.send(publishPacket(topic, topic, 0));
    const got = new Set((await c.collect(300)).flatMap((p) => (p.type === 3 ? [p.topic] : [])));
    for (const topic of RECEIVE_TOPICS) out.set(`receive ${who} ${topic}`, got.has(topic) ? 'allow' : 'deny');
    c.disconnect();
  }
  publisher.disconnect();
  return out;
}

test('dynsec permission matrix: publish / subscribe / unsubscribe / receive decided as the real plugin decides', {
  skip: oracleSkip(),
  timeout: 60_000,
}, async () => {
  const pair = await startPair(document());
  try {
    const [oracle, culex] = await Promise.all([decisions(pair.mosquitto.port), decisions(pair.culex.port)]);
    const differing = [...oracle]
      .filter(([cell, v]) => culex.get(cell) !== v)
      .map(([cell, v]) => `${cell}: mosquitto ${v}, culex ${culex.get(cell)}`);
    assert.deepEqual(differing, [], `cells differ:\n${differing.join('\n')}`);
    assert.equal(culex.size, oracle.size);
    // The matrix must exercise both outcomes of every kind, or it proves nothing.
    for (const kind of ['publish', 'subscribe', 'unsubscribe', 'receive']) {
      const values = new Set([...oracle].filter(([cell]) => cell.startsWith(kind)).map(([, v]) => v));
      assert.deepEqual([...values].sort(), ['allow', 'deny'], kind);
    }
  } finally {
    await pair.stop();
  }
});
