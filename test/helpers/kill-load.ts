// Load and crash helpers shared by the SIGKILL tests (SQLite and Redis stores, one node and a cluster): a culex
// CLI process killed for real, and a publisher that keeps QoS 1 / 2 messages outstanding while it lives, with a
// ledger of what was sent and what the broker acknowledged (PUBACK / PUBREC seen).

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { canConnect, sleep } from './net.js';
import { CULEX_BIN } from './processes.js';

export const RETAINED_TOPICS = 4;

/** The configuration lines every kill test shares (unbounded queues, quiet logs) around its own `lines`. */
export function killConf(lines: readonly string[]): string[] {
  return [
    'allow_anonymous true',
    ...lines,
    'max_queued_messages 0',
    'connection_messages false',
    'log_dest stderr',
    'log_type error',
  ];
}

export interface Broker {
  child: ChildProcess;
  output(): string;
}

export async function startBroker(conf: string, port: number): Promise<Broker> {
  const child = spawn(process.execPath, [CULEX_BIN, '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  // A cluster node restarted under load may first wait for Redis and adopt a dead peer's sessions; 6 s was
  // too short on a loaded CI machine, so the deadline is generous and the wait says how long it took.
  const started = Date.now();
  while (Date.now() - started < 30_000) {
    if (child.exitCode !== null) throw new Error(`culex exited early (${child.exitCode}):\n${out}`);
    if (await canConnect(port)) return { child, output: () => out };
    await sleep(15);
  }
  child.kill('SIGKILL');
  throw new Error(`culex did not listen on ${port} within 30 s:\n${out}`);
}

export function killHard(b: Broker): Promise<void> {
  return new Promise((resolve) => {
    if (b.child.exitCode !== null || b.child.signalCode !== null) return resolve();
    b.child.once('exit', () => resolve());
    b.child.kill('SIGKILL');
  });
}

export function connect(port: number, options: mqtt.IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 3000, ...options });
    c.once('connect', () => resolve(c));
    c.once('error', reject);
    c.once('close', () => reject(new Error('closed before CONNACK')));
  });
}

/** What the publisher saw: payloads sent and the ones the broker acknowledged. */
export interface Ledger {
  sent: Set<string>;
  acked: Set<string>;
  /** Per retained topic: highest counter acknowledged, and every counter sent. */
  retainedAcked: Map<string, number>;
}

/**
 * Calls `acked(topic, payload)` for each QoS 1 / 2 PUBLISH of `client` the broker acknowledged (PUBACK /
 * PUBREC seen), matched by packet identifier with what the client sent under it.
 */
export function onAcked(client: MqttClient, acked: (topic: string, payload: string) => void): void {
  const byId = new Map<number, { topic: string; payload: string }>();
  client.on('packetsend', (p: Packet) => {
    if (p.cmd === 'publish' && p.qos > 0 && p.messageId !== undefined)
      byId.set(p.messageId, { topic: p.topic, payload: String(p.payload) });
  });
  client.on('packetreceive', (p: Packet) => {
    if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId !== undefined) {
      const sent = byId.get(p.messageId);
      if (sent !== undefined) acked(sent.topic, sent.payload);
    }
  });
}

export interface SteadyLoad {
  stop(): void;
  /** Messages published and not yet acknowledged to mqtt.js (PUBACK / PUBCOMP). */
  outstanding(): number;
}

/**
 * Keeps `window` messages outstanding on `topic`, QoS 1 and 2 in turn, across reconnections of `client` (a
 * persistent session resends what is in flight); payloads are `<qos>:<prefix><n>`, recorded in `ledger`.
 */
export function steadyLoad(
  client: MqttClient,
  topic: string,
  prefix: string,
  ledger: Pick<Ledger, 'sent' | 'acked'>,
  window = 16,
): SteadyLoad {
  client.on('error', () => {});
  onAcked(client, (_topic, payload) => ledger.acked.add(payload));
  let n = 0;
  let open = 0;
  let stopped = false;
  const pump = (): void => {
    while (!stopped && open < window) {
      n++;
      const qos = (n % 2 === 0 ? 2 : 1) as 1 | 2;
      const payload = `${qos}:${prefix}${n}`;
      ledger.sent.add(payload);
      open++;
      client.publish(topic, payload, { qos }, () => {
        open--;
        setImmediate(pump);
      });
    }
  };
  if (client.connected) pump();
  else client.once('connect', pump);
  return {
    stop: () => {
      stopped = true;
    },
    outstanding: () => open,
  };
}

/** A persistent-session client that reconnects on its own (to the next of `servers` when given several). */
export function persistentClient(
  clientId: string,
  servers: Array<{ host: string; port: number }>,
): MqttClient {
  const c = mqtt.connect({
    servers,
    clientId,
    clean: false,
    reconnectPeriod: 100,
    connectTimeout: 20_000,
    keepalive: 5,
  });
  c.on('error', () => {});
  return c;
}

/**
 * Publishes until the connection dies, keeping 64 messages outstanding, at most `rate` a second when given (a
 * test whose subscriber stays away long keeps its queue to a size a session hand-over moves in seconds).
 */
export function loadUntilClosed(
  client: MqttClient,
  iter: number,
  ledger: Ledger,
  rate?: number,
): Promise<void> {
  onAcked(client, (topic, payload) => {
    if (topic.startsWith('ret/')) {
      const n = Number(payload.split(':')[1]);
      if (n > (ledger.retainedAcked.get(topic) ?? -1)) ledger.retainedAcked.set(topic, n);
    } else ledger.acked.add(payload);
  });
  return new Promise((resolve) => {
    let n = 0;
    let closed = false;
    let outstanding = 0;
    const started = Date.now();
    const pump = (): void => {
      while (!closed && client.connected && outstanding < 64) {
        if (rate !== undefined && n >= (rate * (Date.now() - started)) / 1000) {
          setTimeout(pump, 10);
          return;
        }
        n++;
        const qos = (n % 2 === 0 ? 2 : 1) as 1 | 2;
        outstanding++;
        const done = (err?: Error): void => {
          outstanding--;
          // A failed publish means the connection is going: stop instead of spinning on errors.
          if (err !== undefined && err !== null) closed = true;
          if (!closed && client.connected) setImmediate(pump);
        };
        if (n % 25 === 0) {
          const topic = `ret/${n % RETAINED_TOPICS}`;
          client.publish(topic, `${iter}:${iter * 1_000_000 + n}`, { qos: 1, retain: true }, done);
        } else {
          const payload = `${qos}:${iter}:${n}`;
          ledger.sent.add(payload);
          client.publish(`load/q${qos}`, payload, { qos }, done);
        }
      }
    };
    client.once('close', () => {
      closed = true;
      resolve();
    });
    client.on('error', () => {});
    pump();
  });
}

/**
 * The persistent subscriber `durable` registers on `load/#` (QoS 2) and goes away, so that everything is queued
 * for it; then `kills` times a publisher loads the broker and the broker is SIGKILLed at a random moment (80 to
 * 380 ms in, from `rng`), started again for the next round. Returns how many kills there were.
 */
export async function killRepeatedly(
  conf: string,
  port: number,
  kills: number,
  rng: { int(n: number): number },
  ledger: Ledger,
): Promise<number> {
  let broker = await startBroker(conf, port);
  let done = 0;
  try {
    const first = await connect(port, { clientId: 'durable', clean: false });
    await first.subscribeAsync('load/#', { qos: 2 });
    await first.endAsync();
    for (let iter = 1; iter <= kills; iter++) {
      if (iter > 1) broker = await startBroker(conf, port);
      const publisher = await connect(port, { clientId: `pub-${iter}`, clean: true });
      const loading = loadUntilClosed(publisher, iter, ledger);
      await sleep(80 + rng.int(300));
      await killHard(broker);
      done++;
      publisher.end(true);
      await loading;
    }
  } finally {
    await killHard(broker);
  }
  return done;
}

/** Receives what a persistent subscriber gets until every acknowledged message is in (or it stays quiet). */
/** What a persistent subscriber's resumption saw: whether the broker kept its session, and how many CONNECTs it took. */
export interface Collected extends Map<string, number> {
  sessionPresent?: boolean;
  attempts?: number;
}

/**
 * Resumes `clientId`'s session on `port` and collects what it is sent until every acknowledged message has arrived
 * (then 500 ms more, for duplicates) or, once messages flow, 3 s pass without one. Like any client with
 * `clean: false` it reconnects when the broker refuses or closes it (a busy start on a loaded machine, a node
 * giving the session up) until `maxMs`, so that does not read as "nothing delivered"; `sessionPresent` is the
 * first CONNACK's, `attempts` the CONNECTs that succeeded.
 */
export async function collectAll(
  port: number,
  clientId: string,
  ledger: Ledger,
  counts: Map<string, number> = new Map(),
  maxMs = 15_000,
): Promise<Collected> {
  const out = counts as Collected;
  const deadline = Date.now() + maxMs;
  let last = 0;
  let attempts = 0;
  const sub = mqtt.connect({ host: '127.0.0.1', port, clientId, clean: false, reconnectPeriod: 200 });
  sub.on('message', (_topic, payload) => {
    const p = payload.toString();
    counts.set(p, (counts.get(p) ?? 0) + 1);
    last = Date.now();
  });
  sub.on('error', () => {});
  sub.on('connect', (connack: mqtt.IConnackPacket) => {
    if (attempts++ === 0) out.sessionPresent = connack.sessionPresent;
  });
  while (Date.now() < deadline) {
    await sleep(100);
    if (attempts === 0) continue;
    let missing = 0;
    for (const p of ledger.acked) if (!counts.has(p)) missing++;
    if (missing === 0 && Date.now() - last > 500) break;
    if (last !== 0 && Date.now() - last > 3000) break;
  }
  out.attempts = attempts;
  await sub.endAsync(true);
  return out;
}

export interface Tally {
  acknowledged: number;
  delivered: number;
  /** Acknowledged but never delivered. */
  lost: string[];
  /** QoS 2 messages delivered more than once. */
  duplicatedQos2: string[];
  /** QoS 1 messages delivered more than once (allowed). */
  duplicatedQos1: number;
  /** Delivered but never sent. */
  unknown: string[];
}

/** Compares what was delivered with what the publishers saw acknowledged. */
export function tally(ledger: Ledger, counts: ReadonlyMap<string, number>): Tally {
  return {
    acknowledged: ledger.acked.size,
    delivered: counts.size,
    lost: [...ledger.acked].filter((p) => !counts.has(p)),
    duplicatedQos2: [...counts].filter(([p, n]) => p.startsWith('2:') && n > 1).map(([p]) => p),
    duplicatedQos1: [...counts].filter(([p, n]) => p.startsWith('1:') && n > 1).length,
    unknown: [...counts.keys()].filter((p) => !ledger.sent.has(p)),
  };
}

/** Every acknowledged message was delivered, QoS 2 ones once, and nothing that nobody sent. */
export function assertDelivered(t: Tally): void {
  assert.deepEqual(
    t.lost.slice(0, 10),
    [],
    `${t.lost.length} of ${t.acknowledged} acknowledged messages lost`,
  );
  assert.deepEqual(t.duplicatedQos2.slice(0, 10), [], 'QoS 2 messages delivered more than once');
  assert.deepEqual(t.unknown, [], 'messages nobody sent');
}

/** A mosquitto.conf for cluster node `nodeId` on `port` (fast heartbeats), with `extra` lines. */
export function writeNodeConf(
  dir: string,
  port: number,
  redisUrl: string,
  nodeId: string,
  extra: readonly string[] = [],
): string {
  const conf = join(dir, `${nodeId}.conf`);
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `cluster_redis_url ${redisUrl}`,
    `cluster_node_id ${nodeId}`,
    'cluster_heartbeat_interval 100ms',
    'cluster_node_timeout 500ms',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    ...extra,
  ];
  writeFileSync(conf, `${lines.join('\n')}\n`);
  return conf;
}
