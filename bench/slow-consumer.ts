// `node dist/bench/slow-consumer.js`: what one slow client does to the others, Culex against Mosquitto.
//   QoS 0: N normal subscribers and publishers at a fixed rate, with no extra subscriber (baseline), with one that
//          stops reading (stalled) and with one that stops and resumes every SLOW_FLAP_MS (flapping); prints the normal
//          subscribers' latency p50 / p99 / max.
//   QoS 1: one subscriber that reads, only slower than the publisher, at `max_queued_messages 1000`; prints
//          how many messages it lost and the normal subscribers' latency.
// Settings (environment): SLOW_BROKERS=culex,mosquitto  SLOW_SECONDS=6  SLOW_RATE=10000 (QoS 0 msg/s, all
// publishers)  SLOW_SUBS=4  SLOW_PUBS=2  SLOW_FLAP_MS=250  SLOW_Q1_MESSAGES=204800  SLOW_Q1_RATE=20000 (slow reader
// msg/s).
import { connect, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { encodePacket } from '../src/protocol/encoder.js';
import type { QoS } from '../src/protocol/packets.js';
import { type BrokerName, type RunningBroker, startBroker } from './brokers.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repoRoot = resolve(here, '..', '..');
const paths = { repoRoot, aedesScript: join(here, 'aedes-server.js') };

function env(name: string, fallback: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

const SECONDS = env('SLOW_SECONDS', 6);
const RATE = env('SLOW_RATE', 10_000);
const SUBS = env('SLOW_SUBS', 4);
const PUBS = env('SLOW_PUBS', 2);
const Q1_MESSAGES = env('SLOW_Q1_MESSAGES', 204_800);
const Q1_RATE = env('SLOW_Q1_RATE', 20_000);
const FLAP_MS = env('SLOW_FLAP_MS', 250);
const WARMUP_MS = 1000;
const QOS0_PAYLOAD = 1024;
const QOS1_PAYLOAD = 64;
const QOS1_WINDOW = 500;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Total length of the MQTT packet at the start of `buf`; 0 when its fixed header is incomplete. */
function frameSize(buf: Buffer): number {
  let value = 0;
  let mult = 1;
  for (let i = 1; i <= 4 && i < buf.length; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return 1 + i + value;
    mult *= 128;
  }
  return 0;
}

/** A minimal MQTT 3.1.1 client over a raw socket: decodes only what the measurement needs. */
class Client {
  private buf: Buffer = Buffer.alloc(0);
  private waiting: ((type: number) => void) | null = null;
  /** Called for each PUBLISH with its sequence number and send timestamp (first 12 payload bytes). */
  onMessage: ((seq: number, sentAt: number) => void) | null = null;
  onPuback: ((id: number) => void) | null = null;
  /** Messages per second this client reads at; 0 = as fast as possible. */
  readRate = 0;

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
  }

  static async open(port: number, clientId: string): Promise<Client> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((res, rej) => socket.once('connect', res).once('error', rej));
    const c = new Client(socket);
    const packet = {
      type: 1 as const,
      protocolName: 'MQTT',
      protocolVersion: 4 as const,
      cleanStart: true,
      keepAlive: 60,
      clientId,
    };
    await c.request(encodePacket(packet, 4), 2);
    return c;
  }

  async subscribe(topic: string, qos: QoS): Promise<void> {
    const subscription = {
      topicFilter: topic,
      qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0 as const,
    };
    await this.request(encodePacket({ type: 8, packetId: 1, subscriptions: [subscription] }, 4), 9);
  }

  private request(bytes: Buffer, answer: number): Promise<void> {
    return new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`no answer of type ${answer}`)), 5000);
      this.waiting = (type) => {
        if (type !== answer) return;
        clearTimeout(timer);
        this.waiting = null;
        res();
      };
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    let at = 0;
    let messages = 0;
    const acks: Buffer[] = [];
    for (;;) {
      const rest = this.buf.length - at;
      const size = rest < 2 ? 0 : frameSize(this.buf.subarray(at));
      if (size === 0 || size > rest) break;
      const type = this.buf[at]! >> 4;
      const header = size - remainingLength(this.buf, at);
      if (type === 3) {
        messages++;
        const qos = (this.buf[at]! >> 1) & 3;
        let p = at + header + 2 + this.buf.readUInt16BE(at + header);
        if (qos > 0) {
          const id = this.buf.readUInt16BE(p);
          p += 2;
          acks.push(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
        }
        this.onMessage?.(this.buf.readUInt32BE(p), this.buf.readDoubleBE(p + 4));
      } else if (type === 4) {
        this.onPuback?.(this.buf.readUInt16BE(at + header));
      } else {
        this.waiting?.(type);
      }
      at += size;
    }
    this.buf = this.buf.subarray(at);
    if (acks.length > 0) this.socket.write(Buffer.concat(acks));
    if (this.readRate > 0 && messages > 0) {
      // A slow reader: stop reading for as long as these messages take at its rate.
      this.socket.pause();
      setTimeout(() => this.socket.resume(), (messages / this.readRate) * 1000);
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

function remainingLength(buf: Buffer, at: number): number {
  let value = 0;
  let mult = 1;
  for (let i = 1; i <= 4; i++) {
    const b = buf[at + i]!;
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return value;
    mult *= 128;
  }
  return value;
}

function publishBytes(topic: string, qos: QoS, packetId: number, payload: Buffer): Buffer {
  return encodePacket({ type: 3, topic, payload, qos, retain: false, dup: false, packetId }, 4);
}

function stamp(payload: Buffer, seq: number): void {
  payload.writeUInt32BE(seq, 0);
  payload.writeDoubleBE(performance.now(), 4);
}

/** Latencies (ms) recorded by the normal subscribers after the warm-up. */
class Latencies {
  private samples: number[] = [];
  received = 0;
  constructor(private readonly from: number) {}
  record(sentAt: number): void {
    this.received++;
    if (sentAt >= this.from) this.samples.push(performance.now() - sentAt);
  }
  /** The p-quantile in ms (NaN without samples); sorts the samples. */
  quantile(p: number): number {
    const s = this.samples.sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  }
  summary(): string {
    const s = this.samples.sort((a, b) => a - b);
    if (s.length === 0) return 'no samples';
    const q = (p: number): string => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(1);
    return `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${s[s.length - 1]!.toFixed(1)} ms (${s.length} samples)`;
  }
}

type Mode = 'baseline' | 'stalled' | 'flapping';

async function qos0Run(broker: RunningBroker, mode: Mode): Promise<{ line: string; p99: number }> {
  const topic = 'bench/q0';
  const start = performance.now();
  const lat = new Latencies(start + WARMUP_MS);
  const subs: Client[] = [];
  for (let i = 0; i < SUBS; i++) {
    const c = await Client.open(broker.port, `normal-${i}`);
    await c.subscribe(topic, 0);
    c.onMessage = (_seq, sentAt) => lat.record(sentAt);
    subs.push(c);
  }
  let slow: Client | undefined;
  let flap: NodeJS.Timeout | undefined;
  if (mode !== 'baseline') {
    slow = await Client.open(broker.port, 'slow');
    await slow.subscribe(topic, 0);
    slow.socket.pause();
    if (mode === 'flapping') {
      let reading = false;
      flap = setInterval(() => {
        reading = !reading;
        if (reading) slow!.socket.resume();
        else slow!.socket.pause();
      }, FLAP_MS);
    }
  }
  const pubs: Client[] = [];
  for (let i = 0; i < PUBS; i++) pubs.push(await Client.open(broker.port, `pub-${i}`));
  const perPub = RATE / PUBS;
  const t0 = performance.now();
  const sent = new Array<number>(PUBS).fill(0);
  const payload = Buffer.alloc(QOS0_PAYLOAD, 0x61);
  const end = t0 + WARMUP_MS + SECONDS * 1000;
  // Each publisher keeps up with its rate every millisecond, whatever the broker does to its socket.
  const ticker = setInterval(() => {
    const now = performance.now();
    for (let p = 0; p < PUBS; p++) {
      const due = Math.min(
        Math.floor(((now - t0) / 1000) * perPub),
        Math.floor(((end - t0) / 1000) * perPub),
      );
      const chunks: Buffer[] = [];
      for (; sent[p]! < due; sent[p]!++) {
        stamp(payload, sent[p]!);
        chunks.push(publishBytes(topic, 0, 0, payload));
      }
      if (chunks.length > 0) pubs[p]!.socket.write(Buffer.concat(chunks));
    }
  }, 1);
  while (performance.now() < end) await sleep(50);
  clearInterval(ticker);
  await sleep(1500);
  if (flap !== undefined) clearInterval(flap);
  const total = sent.reduce((a, b) => a + b, 0) * SUBS;
  const line = `${mode.padEnd(8)} ${lat.summary()}; received ${lat.received}/${total}`;
  for (const c of [...subs, ...pubs]) c.close();
  slow?.close();
  return { line, p99: lat.quantile(0.99) };
}

async function qos1Run(broker: RunningBroker): Promise<string> {
  const topic = 'bench/q1';
  const lat = new Latencies(performance.now() + WARMUP_MS);
  const subs: Client[] = [];
  for (let i = 0; i < SUBS; i++) {
    const c = await Client.open(broker.port, `normal-${i}`);
    await c.subscribe(topic, 1);
    c.onMessage = (_seq, sentAt) => lat.record(sentAt);
    subs.push(c);
  }
  const slow = await Client.open(broker.port, 'slow-reader');
  await slow.subscribe(topic, 1);
  slow.readRate = Q1_RATE;
  const seen = new Uint8Array(Q1_MESSAGES);
  let unique = 0;
  let lastSlow = performance.now();
  slow.onMessage = (seq) => {
    lastSlow = performance.now();
    if (seq < Q1_MESSAGES && seen[seq] === 0) {
      seen[seq] = 1;
      unique++;
    }
  };
  const pub = await Client.open(broker.port, 'pub-q1');
  const payload = Buffer.alloc(QOS1_PAYLOAD, 0x62);
  let next = 0;
  let acked = 0;
  const t0 = performance.now();
  let ackedAt = 0;
  let done: () => void = () => {};
  const allAcked = new Promise<void>((r) => (done = r));
  const sendSome = (n: number): void => {
    const chunks: Buffer[] = [];
    for (let k = 0; k < n && next < Q1_MESSAGES; k++, next++) {
      stamp(payload, next);
      chunks.push(publishBytes(topic, 1, (next % 65535) + 1, payload));
    }
    if (chunks.length > 0) pub.socket.write(Buffer.concat(chunks));
  };
  pub.onPuback = () => {
    acked++;
    if (acked === Q1_MESSAGES) {
      ackedAt = performance.now();
      done();
    } else if (acked % 50 === 0) sendSome(50);
  };
  sendSome(QOS1_WINDOW);
  await allAcked;
  // The slow reader gets what the broker still holds for it; stop once nothing came for 2 s.
  while (unique < Q1_MESSAGES && performance.now() - lastSlow < 2000) await sleep(50);
  const lost = Q1_MESSAGES - unique;
  const line =
    `slow QoS 1 reader lost ${lost}/${Q1_MESSAGES} (${((lost / Q1_MESSAGES) * 100).toFixed(1)} %); ` +
    `publisher acked at ${Math.round(Q1_MESSAGES / ((ackedAt - t0) / 1000))} msg/s; ` +
    `normal subscribers ${lat.summary()}, received ${lat.received}/${Q1_MESSAGES * SUBS}`;
  for (const c of [...subs, slow, pub]) c.close();
  return line;
}

async function withBroker<T>(
  name: BrokerName,
  maxQueued: number,
  fn: (b: RunningBroker) => Promise<T>,
): Promise<T> {
  const broker = await startBroker(name, paths, { maxQueuedMessages: maxQueued });
  try {
    return await fn(broker);
  } finally {
    await broker.stop();
    broker.dispose();
  }
}

async function main(): Promise<void> {
  const names = (process.env.SLOW_BROKERS ?? 'culex,mosquitto').split(',') as BrokerName[];
  console.log(
    `# ${SUBS} normal subscribers, ${PUBS} publishers; QoS 0: ${RATE} msg/s of ${QOS0_PAYLOAD} B for ${SECONDS} s ` +
      `after ${WARMUP_MS} ms warm-up; QoS 1: ${Q1_MESSAGES} messages of ${QOS1_PAYLOAD} B, reader at ${Q1_RATE} msg/s, ` +
      'max_queued_messages 1000',
  );
  for (const name of names) {
    const p99: number[] = [];
    for (const mode of ['baseline', 'stalled', 'flapping'] as const) {
      const r = await withBroker(name, 1000, (b) => qos0Run(b, mode));
      p99.push(r.p99);
      console.log(`${name.padEnd(9)} QoS 0 ${r.line}`);
    }
    const delta = (v: number): string => `${v >= p99[0]! ? '+' : ''}${(v - p99[0]!).toFixed(1)} ms`;
    console.log(`${name.padEnd(9)} QoS 0 p99 change: stalled ${delta(p99[1]!)}, flapping ${delta(p99[2]!)}`);
    const line = await withBroker(name, 1000, qos1Run);
    console.log(`${name.padEnd(9)} QoS 1 ${line}`);
  }
}

await main();
