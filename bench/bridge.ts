// `npm run bench:bridge` (also the last step of `npm run bench`): messages per second through a bridge, a
// Culex-Culex pair and a Mosquitto-Mosquitto pair side by side, QoS 0 and QoS 1. One publisher on the local
// broker, one subscriber on the remote one, 64-byte payloads; the figure is what the far subscriber receives.
// BENCH_DURATION (s, default 5), BENCH_REPS (default 1).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PacketDecoder } from '../src/protocol/decoder.js';
import { encodePacket } from '../src/protocol/encoder.js';
import type { Packet } from '../src/protocol/packets.js';

const here = fileURLToPath(new URL('.', import.meta.url)); // dist/bench
const CULEX_BIN = resolve(here, '..', '..', 'bin', 'culex.js');
const PAYLOAD = Buffer.alloc(64, 0x61);
/** QoS 1 messages the publisher keeps unacknowledged at most. */
const WINDOW = 200;

type Kind = 'culex' | 'mosquitto';

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolvePort(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Proc {
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startBroker(kind: Kind, dir: string, port: number, lines: string[]): Promise<Proc> {
  const conf = join(dir, `${port}.conf`);
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'max_queued_messages 100000', ...lines, ''].join(
      '\n',
    ),
  );
  const argv = kind === 'culex' ? [process.execPath, CULEX_BIN, '-c', conf] : ['mosquitto', '-c', conf];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  for (let i = 0; i < 200; i++) {
    if (await canConnect(port)) break;
    await sleep(25);
  }
  return {
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

/** A raw MQTT 3.1.1 client on our own codec: no client library between the figure and the brokers. */
class RawClient {
  readonly socket: Socket;
  private readonly decoder = new PacketDecoder();
  onPacket: (p: Packet) => void = () => {};

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.setNoDelay(true);
    const sink = { onPacket: (p: Packet) => this.onPacket(p), onDecodeError: () => this.socket.destroy() };
    this.socket.on('data', (chunk: Buffer) => this.decoder.push(chunk, sink));
    this.socket.on('error', () => {});
  }

  send(p: Packet): boolean {
    return this.socket.write(encodePacket(p, 4));
  }

  async open(clientId: string): Promise<void> {
    const connack = new Promise<void>((r) => {
      this.onPacket = (p) => p.type === 2 && r();
    });
    this.send({
      type: 1,
      protocolName: 'MQTT',
      protocolVersion: 4,
      cleanStart: true,
      keepAlive: 60,
      clientId,
    });
    await connack;
  }
}

async function measure(kind: Kind, qos: 0 | 1, seconds: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'culex-bridge-bench-'));
  const remotePort = await freePort();
  const localPort = await freePort();
  const remote = await startBroker(kind, dir, remotePort, []);
  const local = await startBroker(kind, dir, localPort, [
    'connection bench',
    `address 127.0.0.1:${remotePort}`,
    'notifications false',
    `topic bench/# out ${qos}`,
  ]);
  try {
    const sub = new RawClient(remotePort);
    await sub.open('bench-sub');
    let received = 0;
    const subscribed = new Promise<void>((r) => {
      sub.onPacket = (p) => {
        if (p.type === 9) r();
        else if (p.type === 3) {
          received++;
          if (p.qos === 1) sub.send({ type: 4, packetId: p.packetId, reasonCode: 0 });
        }
      };
    });
    sub.send({
      type: 8,
      packetId: 1,
      subscriptions: [
        { topicFilter: 'bench/#', qos, noLocal: false, retainAsPublished: false, retainHandling: 0 },
      ],
    });
    await subscribed;
    const pub = new RawClient(localPort);
    await pub.open('bench-pub');
    // Wait for the bridge: probes until one arrives.
    for (let i = 0; i < 200 && received === 0; i++) {
      pub.send({
        type: 3,
        topic: 'bench/probe',
        payload: PAYLOAD,
        qos: 0,
        retain: false,
        dup: false,
        packetId: 0,
      });
      await sleep(50);
    }
    if (received === 0) throw new Error(`${kind} bridge never delivered`);
    let outstanding = 0;
    let nextId = 1;
    let running = true;
    pub.onPacket = (p) => {
      if (p.type === 4) outstanding--;
    };
    const frame = (id: number): Buffer =>
      encodePacket(
        { type: 3, topic: 'bench/t', payload: PAYLOAD, qos, retain: false, dup: false, packetId: id },
        4,
      );
    const qos0 = qos === 0 ? frame(0) : undefined;
    const pump = async (): Promise<void> => {
      while (running) {
        let writable = true;
        for (let n = 0; n < 256 && writable; n++) {
          if (qos === 1) {
            if (outstanding >= WINDOW) break;
            outstanding++;
            writable = pub.socket.write(frame(nextId));
            nextId = nextId === 65535 ? 1 : nextId + 1;
          } else {
            writable = pub.socket.write(qos0!);
          }
        }
        if (!writable) await new Promise((r) => pub.socket.once('drain', r));
        else await new Promise((r) => setImmediate(r));
      }
    };
    const pumping = pump();
    await sleep(1000); // warm-up, unmeasured
    const start = received;
    const t0 = process.hrtime.bigint();
    await sleep(seconds * 1000);
    const got = received - start;
    const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    running = false;
    await pumping;
    pub.socket.destroy();
    sub.socket.destroy();
    return got / elapsed;
  } finally {
    await local.stop();
    await remote.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const seconds = Number(process.env.BENCH_DURATION ?? 5);
  const reps = Number(process.env.BENCH_REPS ?? 1);
  const rows: string[] = [];
  console.log(
    `bridge bench: ${seconds} s x ${reps} rep(s), 64-byte payloads, publisher -> local -> bridge -> remote -> subscriber`,
  );
  for (const qos of [0, 1] as const) {
    const figures: Record<Kind, number[]> = { culex: [], mosquitto: [] };
    for (let rep = 0; rep < reps; rep++) {
      for (const kind of ['culex', 'mosquitto'] as const) {
        const rate = await measure(kind, qos, seconds);
        figures[kind].push(rate);
        console.log(`  rep ${rep + 1} QoS ${qos} ${kind.padEnd(9)} ${Math.round(rate)} msg/s`);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
    rows.push(
      `| bridge QoS ${qos} msg/s ↑ | ${Math.round(median(figures.culex))} | ${Math.round(median(figures.mosquitto))} |`,
    );
  }
  console.log(
    ['', '| scenario | culex-culex | mosquitto-mosquitto |', '|---|---|---|', ...rows, ''].join('\n'),
  );
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
