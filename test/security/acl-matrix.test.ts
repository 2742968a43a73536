// The ACL matrix through real clients (npm mqtt): bob may read and write room/x only, alice everything. For each
// kind of delivery — live, queued for an offline session, resent in flight after a reconnect, retained, will —
// an allowed topic (room/x) must arrive and a denied one (room/secret) must not. Run on Culex's CLI and on
// Mosquitto 2.0.11, which must agree cell by cell.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { sleep } from '../helpers/net.js';
import {
  type BrokerKind,
  kinds,
  login,
  PASSWORDS,
  publish1,
  received,
  startSecure,
  sub,
} from './acl-fixture.js';

const TOPICS = ['room/x', 'room/secret'] as const;
type Cell = `${string} ${(typeof TOPICS)[number]}`;

/** The expected matrix: every allowed cell delivered, every denied one not. */
const EXPECTED: Record<string, boolean> = {};
for (const kind of ['live', 'queued', 'resent', 'retained', 'will']) {
  EXPECTED[`${kind} room/x`] = true;
  EXPECTED[`${kind} room/secret`] = false;
}

interface Peer {
  readonly c: MqttClient;
  /** Topics received since the client was created (messages may come with the CONNACK). */
  readonly topics: string[];
}

function client(port: number, user: string, clientId: string, extra: IClientOptions = {}): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
      username: user,
      password: PASSWORDS[user] ?? '',
      clientId,
      reconnectPeriod: 0,
      ...extra,
    });
    const topics: string[] = [];
    c.on('message', (topic: string) => topics.push(topic));
    c.once('connect', () => resolve({ c, topics }));
    c.once('error', reject);
  });
}

/** Topics `p` receives while `run` runs and during `ms` after. */
async function topicsDuring(
  p: Peer,
  ms: number,
  run: () => Promise<void> = async () => {},
): Promise<string[]> {
  const from = p.topics.length;
  await run();
  await sleep(ms);
  return p.topics.slice(from);
}

/** Every topic `p` received, after a pause of `ms`. */
async function allTopics(p: Peer, ms: number): Promise<string[]> {
  await sleep(ms);
  return p.topics;
}

async function matrix(kind: BrokerKind): Promise<Record<string, boolean>> {
  const b = await startSecure(kind);
  const cells: Record<string, boolean> = {};
  const mark = (delivery: string, got: readonly string[]): void => {
    for (const t of TOPICS) cells[`${delivery} ${t}` as Cell] = got.includes(t);
  };
  const open: Peer[] = [];
  try {
    const alice = await client(b.port, 'alice', 'm-alice');
    open.push(alice);
    const publishBoth = async (retain = false): Promise<void> => {
      for (const t of TOPICS) await alice.c.publishAsync(t, t, { qos: 1, retain });
    };

    // live
    const bob = await client(b.port, 'bob', 'm-bob', { clean: false });
    await bob.c.subscribeAsync('#', { qos: 1 });
    mark('live', await topicsDuring(bob, 300, publishBoth));
    await bob.c.endAsync();

    // queued while bob is away
    await publishBoth();
    await sleep(100);
    const bobBack = await client(b.port, 'bob', 'm-bob', { clean: false });
    open.push(bobBack);
    mark('queued', await allTopics(bobBack, 400));

    // resent: alice's session holds both unacknowledged when it drops; bob resumes it with her client id
    const raw = await login(b.port, 'alice', 'm-shared', { clean: false });
    await sub(raw, 'room/#');
    await publish1(raw, 'room/x', 'room/x', 1);
    await publish1(raw, 'room/secret', 'room/secret', 2);
    await received(raw, 300, false, 2);
    raw.destroy();
    await sleep(150);
    const resumer = await client(b.port, 'bob', 'm-shared', { clean: false });
    open.push(resumer);
    mark('resent', await allTopics(resumer, 400));

    // retained, for a new subscription
    await publishBoth(true);
    const late = await client(b.port, 'bob', 'm-late');
    open.push(late);
    mark(
      'retained',
      await topicsDuring(late, 400, async () => void (await late.c.subscribeAsync('#', { qos: 1 }))),
    );

    for (const t of TOPICS) await alice.c.publishAsync(t, '', { qos: 1, retain: true });
    // wills of bob's connections that end without DISCONNECT
    const watcher = await client(b.port, 'alice', 'm-watch');
    open.push(watcher);
    await watcher.c.subscribeAsync('room/#', { qos: 1 });
    const got = await topicsDuring(watcher, 400, async () => {
      for (const t of TOPICS) {
        const w = await client(b.port, 'bob', `m-will-${t}`, { will: { topic: t, payload: t, qos: 1 } });
        w.c.stream.destroy();
      }
    });
    mark('will', got);
    return cells;
  } finally {
    for (const p of open) p.c.end(true);
    await b.stop();
  }
}

test('ACL matrix: live, queued, resent, retained and will deliveries, allowed and denied', async () => {
  const results = new Map<BrokerKind, Record<string, boolean>>();
  for (const kind of kinds()) results.set(kind, await matrix(kind));
  for (const [kind, cells] of results) {
    console.log(
      `# ${kind}: ${Object.entries(cells)
        .map(([k, v]) => `${k}=${v ? 'yes' : 'no'}`)
        .join(', ')}`,
    );
    assert.deepEqual(cells, EXPECTED, kind);
  }
});
