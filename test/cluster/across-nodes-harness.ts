// Differential runs for the across-nodes tests: one scenario (a script of raw-packet client actions) runs once
// against a single Culex node and once against a 3-node cluster on one redis-server, each client placed on the
// node the script names; what every client receives is recorded (decoded packets, in order) and the two
// recordings must be equal. Deliveries and the other packets of a connection are recorded apart: their relative
// order (a PUBACK before or after a delivery on the same connection) is timing, not behaviour.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before } from 'node:test';
import type { Logger } from '../../src/broker/logger.js';
import { routeKey } from '../../src/cluster/route-table.js';
import { type ConfiguredBroker, createBroker, parseConfig } from '../../src/index.js';
import type { Packet, ProtocolVersion, QoS, Subscription } from '../../src/protocol/packets.js';
import { type Properties, WIRE_ORDER } from '../../src/protocol/properties.js';
import { freePort, sleep } from '../helpers/net.js';
import { type ConnectOptions, decodeFrame, RawClient } from '../helpers/raw-client.js';
import { type RedisServer, startRedis } from '../helpers/redis.js';
import { type Node, skipWithoutRedis, startNodes, stopAll } from './fabric-helpers.js';

export const skip = skipWithoutRedis;

/** What one client received: deliveries (PUBLISH) and everything else, each in arrival order. */
export interface ClientRecord {
  publishes: string[];
  control: string[];
}

export type Recording = Record<string, ClientRecord>;

export interface RunResult {
  recording: Recording;
  /** Message Expiry Interval of each delivery per client (replaced by `E` in the recording: it is timing). */
  expiries: Record<string, number[]>;
  notes: string[];
}

/** One topology: a single node (every client on it) or the cluster (clients on the node the script names). */
interface Topology {
  readonly name: 'single' | 'cluster';
  port(node: number): number;
  settle(): Promise<void>;
}

interface SubscribeOptions {
  qos?: QoS;
  noLocal?: boolean;
  retainAsPublished?: boolean;
  retainHandling?: 0 | 1 | 2;
}

export interface PublishOptions {
  qos?: QoS;
  retain?: boolean;
  properties?: Properties;
  /** Wait for the acknowledgement flow to complete (default true). */
  wait?: boolean;
}

/** A client of a run. */
class Peer {
  readonly record: ClientRecord = { publishes: [], control: [] };
  readonly expiries: number[] = [];
  private nextId = 1;
  private wake: (() => void) | undefined;
  closed = false;
  autoAck = true;

  constructor(
    readonly raw: RawClient,
    readonly version: ProtocolVersion,
  ) {}

  pump(): void {
    void (async () => {
      for (;;) {
        let frame: Buffer | null;
        try {
          frame = await this.raw.nextRaw(600_000);
        } catch {
          continue;
        }
        if (frame === null) break;
        this.take(decodeFrame(frame, this.version), frame.length);
      }
      this.closed = true;
      this.record.control.push('closed');
      this.notify();
    })();
  }

  private take(p: Packet, size: number): void {
    if (p.type === 3) {
      const expiry = p.properties?.messageExpiryInterval;
      if (expiry !== undefined) this.expiries.push(expiry);
      this.record.publishes.push(describePublish(p, size));
      if (this.autoAck && p.qos === 1) this.raw.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
      if (this.autoAck && p.qos === 2) this.raw.send({ type: 5, packetId: p.packetId, reasonCode: 0 });
    } else {
      this.record.control.push(describe(p));
      if (this.autoAck && p.type === 5) this.raw.send({ type: 6, packetId: p.packetId, reasonCode: 0 });
      if (this.autoAck && p.type === 6) this.raw.send({ type: 7, packetId: p.packetId, reasonCode: 0 });
    }
    this.notify();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  /** Waits (bounded, never failing: the comparison shows what is missing) until `check` holds. */
  async until(check: () => boolean, ms: number): Promise<boolean> {
    const end = Date.now() + ms;
    while (!check()) {
      const left = end - Date.now();
      if (left <= 0 || this.closed) return check();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return true;
  }

  id(): number {
    const id = this.nextId++;
    if (this.nextId > 0xffff) this.nextId = 1;
    return id;
  }
}

/** The script's view of a run: the same calls whichever topology it runs on. */
export class Run {
  private readonly peers = new Map<string, Peer>();
  readonly notes: string[] = [];

  constructor(
    private readonly topology: Topology,
    /** Unique per test (topics and client ids), the same in both runs. */
    readonly prefix: string,
  ) {}

  get name(): 'single' | 'cluster' {
    return this.topology.name;
  }

  topic(t: string): string {
    return `${this.prefix}/${t}`;
  }

  /** Connects `name` to node `node` (the single topology has one node), recording its CONNACK. */
  async connect(name: string, node: number, o: ConnectOptions = {}): Promise<void> {
    const raw = await RawClient.open(this.topology.port(node));
    const version = o.version ?? 4;
    raw.version = version;
    const peer = new Peer(raw, version);
    this.peers.set(name, peer);
    peer.pump();
    raw.send({
      type: 1,
      protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: version,
      cleanStart: o.clean ?? true,
      keepAlive: o.keepAlive ?? 60,
      clientId: o.clientId === undefined ? `${this.prefix}-${name}` : o.clientId,
      ...(o.properties === undefined ? {} : { properties: o.properties }),
      ...(o.will === undefined
        ? {}
        : {
            will: {
              topic: o.will.topic,
              payload: Buffer.from(o.will.payload ?? ''),
              qos: o.will.qos ?? 0,
              retain: o.will.retain ?? false,
              ...(o.will.properties === undefined ? {} : { properties: o.will.properties }),
            },
          }),
    });
    await peer.until(() => peer.record.control.length > 0, 5000);
  }

  peer(name: string): Peer {
    const p = this.peers.get(name);
    if (p === undefined) throw new Error(`no client ${name}`);
    return p;
  }

  /** Subscribes, waits for the SUBACK, then until every node knows the routes (a no-op on one node). */
  async subscribe(
    name: string,
    filters: ReadonlyArray<string | readonly [string, SubscribeOptions]>,
    properties?: Properties,
    settle = true,
  ): Promise<void> {
    const p = this.peer(name);
    const packetId = p.id();
    const subscriptions: Subscription[] = filters.map((f) => {
      const [filter, o] = typeof f === 'string' ? [f, {}] : f;
      return {
        topicFilter: filter,
        qos: o.qos ?? 0,
        noLocal: o.noLocal ?? false,
        retainAsPublished: o.retainAsPublished ?? false,
        retainHandling: o.retainHandling ?? 0,
      };
    });
    await this.topology.settle();
    const before = p.record.control.length;
    p.raw.send({ type: 8, packetId, subscriptions, ...(properties === undefined ? {} : { properties }) });
    await p.until(
      () => p.record.control.slice(before).some((l) => l.startsWith(`SUBACK ${packetId} `)),
      5000,
    );
    if (settle) await this.topology.settle();
  }

  async unsubscribe(name: string, filters: string[]): Promise<void> {
    const p = this.peer(name);
    const packetId = p.id();
    const before = p.record.control.length;
    p.raw.send({ type: 10, packetId, topicFilters: filters });
    await p.until(
      () => p.record.control.slice(before).some((l) => l.startsWith(`UNSUBACK ${packetId}`)),
      5000,
    );
    await this.topology.settle();
  }

  /** Sends a PUBLISH and (unless told) waits for its PUBACK / PUBCOMP. */
  async publish(
    name: string,
    topic: string,
    payload: string | Buffer,
    o: PublishOptions = {},
  ): Promise<void> {
    const p = this.peer(name);
    const qos = o.qos ?? 0;
    const packetId = qos === 0 ? 0 : p.id();
    p.raw.send({
      type: 3,
      topic,
      payload: Buffer.from(payload),
      qos,
      retain: o.retain ?? false,
      dup: false,
      packetId,
      ...(o.properties === undefined ? {} : { properties: o.properties }),
    });
    if (o.wait === false) return;
    if (qos === 0) {
      // PINGRESP comes after the broker handled the PUBLISH (and its retained update).
      await this.ping(name);
      return;
    }
    const done = qos === 1 ? `PUBACK ${packetId} ` : `PUBCOMP ${packetId} `;
    await p.until(() => p.record.control.some((l) => l.startsWith(done)), 5000);
  }

  /** PINGREQ, waiting for its PINGRESP: everything sent before it was handled. */
  async ping(name: string): Promise<void> {
    const p = this.peer(name);
    const before = p.record.control.length;
    p.raw.send({ type: 12 });
    await p.until(() => p.record.control.slice(before).includes('PINGRESP'), 5000);
  }

  /** From now on `name` answers nothing by itself (PUBACK, PUBREC, PUBREL, PUBCOMP): the script does. */
  manualAcks(name: string): void {
    this.peer(name).autoAck = false;
  }

  /** Waits (bounded) until `name` received a packet other than PUBLISH that starts with `start`. */
  async expectControl(name: string, start: string, ms = 4000): Promise<void> {
    const p = this.peer(name);
    await p.until(() => p.record.control.some((l) => l.startsWith(start)), ms);
  }

  /** Sends any packet as is. */
  send(name: string, packet: Packet): void {
    this.peer(name).raw.send(packet);
  }

  /** Waits (bounded) until `name` received `n` deliveries. */
  async expect(name: string, n: number, ms = 4000): Promise<void> {
    const p = this.peer(name);
    await p.until(() => p.record.publishes.length >= n, ms);
  }

  /** Waits until the topology settled (routes and retained copies equal on every node). */
  settle(): Promise<void> {
    return this.topology.settle();
  }

  /** DISCONNECT (reason 0, or the one given for MQTT 5) then close. */
  async disconnect(name: string, reasonCode = 0): Promise<void> {
    const p = this.peer(name);
    p.raw.send({ type: 14, reasonCode });
    p.raw.socket.end();
    await p.until(() => p.closed, 3000);
  }

  /** Closes the socket without DISCONNECT (the will goes). */
  async drop(name: string): Promise<void> {
    const p = this.peer(name);
    p.raw.destroy();
    await p.until(() => p.closed, 3000);
  }

  note(text: string): void {
    this.notes.push(text);
  }

  end(): RunResult {
    const recording: Recording = {};
    const expiries: Record<string, number[]> = {};
    for (const [name, p] of this.peers) {
      recording[name] = { publishes: [...p.record.publishes], control: [...p.record.control] };
      p.raw.destroy();
      if (p.expiries.length > 0) expiries[name] = p.expiries;
    }
    return { recording, expiries, notes: this.notes };
  }
}

export type Scenario = (run: Run) => Promise<void>;

export interface CompareOptions {
  /**
   * Compare the packet identifiers of deliveries by order of first use per client, not by value: a message
   * queued for an offline session has an identifier no one saw yet, which a node resuming the session may pick
   * afresh (what was in flight keeps its identifier [MQTT-4.4.0-1]; such scenarios leave this off).
   */
  renumberQueued?: boolean;
}

/** Grace period for unexpected extra deliveries after a scenario's last step. */
const QUIET_MS = 150;

let scenarios = 0;

export interface Differential {
  /** Runs `scenario` on one node and on the cluster, asserts equal recordings and returns both. */
  compare(scenario: Scenario, options?: CompareOptions): Promise<{ single: RunResult; cluster: RunResult }>;
  /** Runs `scenario` on one node and on the cluster without comparing (the test compares its own view). */
  both(scenario: Scenario): Promise<{ single: RunResult; cluster: RunResult }>;
  /** Runs `scenario` on the cluster only (what is timing on one broker too), returning its recording. */
  clusterOnly(scenario: Scenario): Promise<RunResult>;
  readonly nodes: Node[];
}

/**
 * Before the file's tests: one redis-server, a 3-node cluster on it and a single node (same options, `extra`
 * mosquitto.conf lines added to both); after them everything stops.
 */
export function useDifferential(extra: readonly string[] = []): Differential {
  let redis: RedisServer | undefined;
  let single: ConfiguredBroker | undefined;
  let singlePort = 0;
  const nodes: Node[] = [];
  before(async () => {
    if (skip !== false) return;
    redis = await startRedis();
    singlePort = await freePort();
    const text = [`listener ${singlePort} 127.0.0.1`, 'allow_anonymous true', 'log_dest none', ...extra, ''];
    const logger: Logger = { enabled: () => false, log: () => {} };
    single = await createBroker(parseConfig(text.join('\n')), { logger });
    nodes.push(...(await startNodes(redis, 3, extra)));
  });
  after(async () => {
    await single?.stop();
    await stopAll(nodes);
    await redis?.stop();
  });
  const one: Topology = { name: 'single', port: () => singlePort, settle: async () => {} };
  const many: Topology = {
    name: 'cluster',
    port: (i) => {
      const n = nodes[i];
      if (n === undefined) throw new Error(`no node ${i}`);
      return n.port;
    },
    settle: () => settleCluster(nodes),
  };
  const run = async (t: Topology, prefix: string, scenario: Scenario): Promise<RunResult> => {
    const r = new Run(t, prefix);
    try {
      await scenario(r);
      await sleep(QUIET_MS);
      return r.end();
    } catch (err) {
      r.end();
      throw err;
    }
  };
  return {
    nodes,
    clusterOnly: (scenario) => run(many, `s${++scenarios}`, scenario),
    async both(scenario) {
      const prefix = `s${++scenarios}`;
      return { single: await run(one, prefix, scenario), cluster: await run(many, prefix, scenario) };
    },
    async compare(scenario, options = {}) {
      const prefix = `s${++scenarios}`;
      // One after the other: a loaded machine's timing then stays comparable between the two.
      const a = await run(one, prefix, scenario);
      const b = await run(many, prefix, scenario);
      const view = options.renumberQueued === true ? renumbered : (r: Recording) => r;
      assert.deepEqual(view(b.recording), view(a.recording), 'the cluster must behave as one broker');
      return { single: a, cluster: b };
    },
  };
}

/** Until every node's copy of the others' routes equals their own subscriptions, and retained copies agree. */
async function settleCluster(nodes: readonly Node[]): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    if (routesAgree(nodes) && retainedAgree(nodes)) return;
    await sleep(5);
  }
  throw new Error('cluster routes / retained copies did not settle within 5 s');
}

function localKeys(node: Node): Set<string> {
  const keys = new Set<string>();
  for (const s of node.broker.cluster!.core.sessions.values())
    for (const e of s.subscriptions.values()) keys.add(routeKey(e));
  return keys;
}

function routesAgree(nodes: readonly Node[]): boolean {
  for (const m of nodes) {
    const mine = localKeys(m);
    for (const n of nodes) {
      if (n === m) continue;
      const seen = n.broker.cluster!.routes.cache.routesOf(m.id);
      if ((seen?.size ?? 0) !== mine.size) return false;
      for (const k of mine) if (!seen?.has(k)) return false;
    }
  }
  return true;
}

function retainedAgree(nodes: readonly Node[]): boolean {
  let first: string | undefined;
  for (const n of nodes) {
    const now = Date.now();
    const all = n.broker.cluster!.retained.local.match('#', now);
    const text = all
      .map((m) => `${m.topic}:${m.payload.length}:${m.payload.subarray(0, 32).toString('hex')}`)
      .sort()
      .join(',');
    if (first === undefined) first = text;
    else if (text !== first) return false;
  }
  return true;
}

function renumbered(r: Recording): Recording {
  const out: Recording = {};
  for (const [name, rec] of Object.entries(r)) {
    const ids = new Map<string, number>();
    const publishes = rec.publishes.map((l) =>
      l.replace(/ #(\d+) /, (_, id: string) => {
        if (!ids.has(id)) ids.set(id, ids.size + 1);
        return ` #n${ids.get(id)} `;
      }),
    );
    out[name] = { publishes, control: rec.control };
  }
  return out;
}

function props(p: Properties | undefined): string {
  if (p === undefined) return '';
  const out: string[] = [];
  for (const [k, v] of Object.entries(p)) {
    if (k === 'messageExpiryInterval') out.push(`${k}=E`);
    else if (Buffer.isBuffer(v)) out.push(`${k}=0x${v.toString('hex')}`);
    else out.push(`${k}=${JSON.stringify(v)}`);
  }
  const order = p[WIRE_ORDER];
  if (order !== undefined) out.push(`order=${[...order].join(',')}`);
  return ` {${out.join(' ')}}`;
}

function payloadText(b: Buffer): string {
  if (b.length <= 64) return JSON.stringify(b.toString('latin1'));
  return `<${b.length} bytes sha1 ${createHash('sha1').update(b).digest('hex').slice(0, 12)}>`;
}

function describePublish(p: Extract<Packet, { type: 3 }>, size: number): string {
  const id = p.qos === 0 ? '' : ` #${p.packetId}`;
  const flags = `q${p.qos}${p.retain ? ' retain' : ''}${p.dup ? ' dup' : ''}`;
  return `PUBLISH ${flags}${id} ${p.topic} ${payloadText(p.payload)}${props(p.properties)} (${size} bytes)`;
}

function describe(p: Packet): string {
  switch (p.type) {
    case 2: {
      const pr = p.properties === undefined ? undefined : { ...p.properties };
      if (pr?.assignedClientIdentifier !== undefined) pr.assignedClientIdentifier = '<assigned>';
      return `CONNACK ${p.reasonCode} sp=${p.sessionPresent ? 1 : 0}${props(pr)}`;
    }
    case 4:
    case 5:
    case 6:
    case 7:
      return `${['', '', '', '', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP'][p.type]} ${p.packetId} ${p.reasonCode}${props(p.properties)}`;
    case 9:
      return `SUBACK ${p.packetId} ${p.reasonCodes.join(',')}${props(p.properties)}`;
    case 11:
      return `UNSUBACK ${p.packetId} ${p.reasonCodes.join(',')}${props(p.properties)}`;
    case 13:
      return 'PINGRESP';
    case 14:
      return `DISCONNECT ${p.reasonCode}${props(p.properties)}`;
    default:
      return `type ${p.type}`;
  }
}

/** The deliveries of one client as `topic payload` pairs (for the expected values the tests state). */
export function deliveries(r: RunResult, name: string): string[] {
  return r.recording[name]?.publishes ?? [];
}
