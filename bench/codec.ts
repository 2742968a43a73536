// Codec benchmark: Culex vs mqtt-packet decode/encode rates for 64 B and 1 KiB PUBLISH at QoS 0 and 1.
// Run with `npm run bench:codec` (BENCH_MS sets the time per measurement, default 700 ms).

import mqtt from 'mqtt-packet';
import { type DecoderSink, PacketDecoder } from '../src/protocol/decoder.js';
import { encodePacket } from '../src/protocol/encoder.js';
import type { MqttProtocolError } from '../src/protocol/errors.js';
import type { Packet, PublishPacket, QoS } from '../src/protocol/packets.js';
import { PublishFrame } from '../src/protocol/publish-frame.js';

const MS = Number(process.env.BENCH_MS ?? 700);
const VERSION = 4;
const BATCH = 256;

interface Rate {
  pps: number;
  mbps: number;
}

/** Slices per side in `compare`: alternating short slices spreads a shared machine's load over both sides. */
const SLICES = 5;
const WARMUP_MS = 100;

/** Calls `fn` in batches of 20 for at least `ms` milliseconds; returns [calls, seconds]. */
function runFor(fn: () => void, ms: number): [number, number] {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < ms) {
    for (let i = 0; i < 20; i++) fn();
    calls += 20;
    t = performance.now();
  }
  return [calls, (t - t0) / 1000];
}

function rate(calls: number, secs: number, perCall: number, bytes: number): Rate {
  const pps = (calls * perCall) / secs;
  return { pps, mbps: (pps * bytes) / 1e6 };
}

/** Runs `fn` (which handles `perCall` packets of `bytes` bytes each) for MS milliseconds after a warm-up. */
function measure(fn: () => void, perCall: number, bytes: number): Rate {
  runFor(fn, WARMUP_MS);
  const [calls, secs] = runFor(fn, MS);
  return rate(calls, secs, perCall, bytes);
}

/**
 * Measures two implementations of the same operation fairly: both are warmed up first, then they take turns
 * in SLICES slices of MS / SLICES each, so neither side alone absorbs a burst of load from other processes.
 */
function compare(a: () => void, b: () => void, perCall: number, bytes: number): [Rate, Rate] {
  runFor(a, WARMUP_MS);
  runFor(b, WARMUP_MS);
  let callsA = 0;
  let secsA = 0;
  let callsB = 0;
  let secsB = 0;
  for (let i = 0; i < SLICES; i++) {
    const [ca, sa] = runFor(a, MS / SLICES);
    const [cb, sb] = runFor(b, MS / SLICES);
    callsA += ca;
    secsA += sa;
    callsB += cb;
    secsB += sb;
  }
  return [rate(callsA, secsA, perCall, bytes), rate(callsB, secsB, perCall, bytes)];
}

class CountSink implements DecoderSink {
  count = 0;
  onPacket(_p: Packet): void {
    this.count++;
  }
  onDecodeError(e: MqttProtocolError): void {
    throw e;
  }
}

const noopSink = { write: (_c: Buffer): boolean => true };

interface Row {
  op: string;
  culex: Rate;
  other: Rate | null;
}

function fmt(r: Rate): string {
  return `${(r.pps / 1e6).toFixed(2)} Mpkt/s ${r.mbps.toFixed(0).padStart(5)} MB/s`;
}

function runCase(size: number, qos: QoS): Row[] {
  const payload = Buffer.alloc(size, 0x61);
  const packet: PublishPacket = {
    type: 3,
    topic: 'bench/sensor/temperature',
    payload,
    qos,
    retain: false,
    dup: false,
    packetId: qos > 0 ? 42 : 0,
  };
  const mp = {
    cmd: 'publish' as const,
    topic: packet.topic,
    payload,
    qos,
    retain: false,
    dup: false,
    messageId: qos > 0 ? 42 : undefined,
  };
  const one = encodePacket(packet, VERSION);
  const stream = Buffer.concat(Array.from({ length: BATCH }, () => one));
  const label = `${size === 64 ? '64 B' : '1 KiB'} QoS ${qos}`;

  const decoder = new PacketDecoder();
  const sink = new CountSink();
  const parser = mqtt.parser({ protocolVersion: VERSION });
  let parsed = 0;
  parser.on('packet', () => parsed++);
  const [culexDecode, mpDecode] = compare(
    () => decoder.push(stream, sink),
    () => parser.parse(stream),
    BATCH,
    one.length,
  );
  if (sink.count === 0 || parsed === 0) throw new Error('decoders produced nothing');

  // Both encoders get the same topic string and payload Buffer; outputs are checked equal before timing.
  if (!encodePacket(packet, VERSION).equals(mqtt.generate(mp as never))) throw new Error('encoders disagree');
  const [culexEncode, mpEncode] = compare(
    () => encodePacket(packet, VERSION),
    () => mqtt.generate(mp as never),
    1,
    one.length,
  );
  const frame = new PublishFrame(packet.topic, payload);
  let id = 1;
  const fanout = measure(
    () => {
      frame.writeTo(noopSink, VERSION, qos, false, false, id);
      id = id === 65535 ? 1 : id + 1;
    },
    1,
    one.length,
  );
  return [
    { op: `decode ${label}`, culex: culexDecode, other: mpDecode },
    { op: `encode ${label} (encodePacket)`, culex: culexEncode, other: mpEncode },
    { op: `encode ${label} (PublishFrame.writeTo fan-out)`, culex: fanout, other: mpEncode },
  ];
}

function main(): void {
  const rows: Row[] = [];
  for (const size of [64, 1024]) for (const qos of [0, 1] as const) rows.push(...runCase(size, qos));
  console.log(
    `Codec benchmark (MQTT ${VERSION === 4 ? '3.1.1' : VERSION}, ${MS} ms per cell, node ${process.version})`,
  );
  const head = ['operation'.padEnd(46), 'Culex'.padEnd(26), 'mqtt-packet'.padEnd(26), 'ratio'];
  console.log(head.join(' | '));
  console.log('-'.repeat(110));
  for (const r of rows) {
    const other = r.other === null ? '-' : fmt(r.other);
    const ratio = r.other === null ? '-' : `${(r.culex.pps / r.other.pps).toFixed(1)}x`;
    console.log([r.op.padEnd(46), fmt(r.culex).padEnd(26), other.padEnd(26), ratio].join(' | '));
  }
}

main();
