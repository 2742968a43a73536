// Cluster nodes for the fabric tests: in-process brokers built by createBroker from mosquitto.conf text with
// cluster_* options on one real redis-server, and npm mqtt clients that collect what they receive.

import { after, before } from 'node:test';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import type { Logger } from '../../src/broker/logger.js';
import { type ConfiguredBroker, createBroker, parseConfig } from '../../src/index.js';
import { freePort, sleep } from '../helpers/net.js';
import { type RedisOptions, type RedisServer, requireRedis, startRedis } from '../helpers/redis.js';

export interface Node {
  readonly id: string;
  readonly port: number;
  readonly broker: ConfiguredBroker;
  readonly lines: string[];
}

let prefixes = 0;

/** A key prefix of its own for each group of nodes (several clusters on one test Redis). */
export function newPrefix(): string {
  return `t${process.pid}-${++prefixes}:`;
}

export async function startNode(
  redis: RedisServer,
  id: string,
  prefix: string,
  extra: readonly string[] = [],
): Promise<Node> {
  const port = await freePort();
  const text = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'log_dest none',
    `cluster_redis_url ${redis.url}`,
    `cluster_node_id ${id}`,
    `cluster_key_prefix ${prefix}`,
    // The default 5 s timeout: on a loaded test machine a node starved of CPU for longer would be taken for dead.
    'cluster_heartbeat_interval 100ms',
    ...extra,
    '',
  ].join('\n');
  const lines: string[] = [];
  const logger: Logger = { enabled: () => true, log: (level, line) => lines.push(`${level}: ${line}`) };
  const broker = await createBroker(parseConfig(text), { logger });
  return { id, port, broker, lines };
}

export async function startNodes(
  redis: RedisServer,
  count: number,
  extra: readonly string[] = [],
): Promise<Node[]> {
  const prefix = newPrefix();
  const nodes: Node[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startNode(redis, `n${i}`, prefix, extra));
  return nodes;
}

export async function stopAll(nodes: readonly Node[]): Promise<void> {
  for (const n of nodes) await n.broker.stop();
}

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  subscriptionIds: number[] | undefined;
  userProperties: Record<string, string | string[]> | undefined;
}

export interface Client {
  readonly mqtt: MqttClient;
  readonly received: Received[];
}

export async function client(node: Node, options: IClientOptions = {}): Promise<Client> {
  const c = mqtt.connect({
    port: node.port,
    host: '127.0.0.1',
    reconnectPeriod: 0,
    connectTimeout: 3000,
    ...options,
  });
  const received: Received[] = [];
  c.on('message', (topic, payload, packet: IPublishPacket) => {
    const id = packet.properties?.subscriptionIdentifier;
    received.push({
      topic,
      payload: payload.toString(),
      qos: packet.qos,
      retain: packet.retain,
      subscriptionIds: id === undefined ? undefined : Array.isArray(id) ? id : [id],
      userProperties: packet.properties?.userProperties,
    });
  });
  await new Promise<void>((resolve, reject) => {
    c.once('connect', () => resolve());
    c.once('error', reject);
  });
  return { mqtt: c, received };
}

export async function closeAll(clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map((c) => c.mqtt.endAsync()));
}

/** Waits until `check` holds (polling), failing with `what` after `ms`. */
export async function until(what: string, check: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/**
 * Until `from`'s route cache shows that each of `targets` has an ordinary subscription matching `topic` (or, with
 * `groups`, a share group member): route changes travel by pub/sub.
 */
export async function routesKnown(
  from: Node,
  topic: string,
  targets: readonly Node[],
  kind: 'subscriptions' | 'groups' = 'subscriptions',
): Promise<void> {
  await until(`${from.id} to know the ${kind} of ${targets.map((t) => t.id)} for ${topic}`, () => {
    const m = from.broker.cluster!.routes.cache.match(topic);
    const nodes = new Set(kind === 'subscriptions' ? m.nodes : m.groups.flatMap((g) => [...g.counts.keys()]));
    return targets.every((t) => nodes.has(t.id));
  });
}

/** node:test `skip` for the cluster tests: they need redis-server (a failure under CI=true). */
export const skipWithoutRedis = requireRedis();

/** A redis-server and `count` nodes for the tests of one file, started before them and stopped after. */
export function useCluster(
  count: number,
  redisOptions: RedisOptions = {},
  extra: readonly string[] = [],
): { redis: RedisServer; nodes: Node[] } {
  const fixture = { redis: undefined as unknown as RedisServer, nodes: [] as Node[] };
  before(async () => {
    if (skipWithoutRedis !== false) return;
    fixture.redis = await startRedis(redisOptions);
    fixture.nodes.push(...(await startNodes(fixture.redis, count, extra)));
  });
  after(async () => {
    await stopAll(fixture.nodes);
    await fixture.redis?.stop();
  });
  return fixture;
}
