// Decoder fuzzer: >= 1,000,000 random and mutated inputs; counts crashes, hangs, untyped errors, re-encode mismatches.
// Run with `npm run fuzz` (FUZZ_INPUTS and FUZZ_SEED override the defaults). Exits 1 if anything was found.

import fc from 'fast-check';
import { type DecoderSink, PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import { MqttProtocolError, Rule } from '../../src/protocol/errors.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { packet } from '../protocol/arbitraries.js';
import { chunks, mutate, Rng } from './mutate.js';

const INPUTS = Number(process.env.FUZZ_INPUTS ?? 1_000_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const HANG_MS = 100;
const KNOWN_CODES = new Set([0x81, 0x82, 0x84, 0x8f, 0x90, 0x94, 0x95, 0x99]);

const rng = new Rng(SEED);

const VERSIONS: ProtocolVersion[] = [3, 4, 5];

function buildCorpus(): Buffer[][] {
  const corpus: Buffer[][] = [[], [], []];
  for (const [i, v] of VERSIONS.entries()) {
    const samples = fc.sample(packet(v), { numRuns: 1500, seed: SEED + v });
    for (const p of samples) (corpus[i] as Buffer[]).push(encodePacket(p, v));
  }
  return corpus;
}

class FuzzSink implements DecoderSink {
  decoder: PacketDecoder | null = null;
  packets: { p: Packet; v: ProtocolVersion }[] = [];
  errors: unknown[] = [];
  onPacket(p: Packet): void {
    this.packets.push({ p, v: (this.decoder as PacketDecoder).protocolVersion });
  }
  onDecodeError(e: MqttProtocolError): void {
    this.errors.push(e);
  }
}

function isTyped(e: unknown): boolean {
  return e instanceof MqttProtocolError && e.rule !== Rule.Internal && KNOWN_CODES.has(e.reasonCode);
}

/** A decoded packet must re-encode, and that encoding must decode and re-encode to the same bytes. */
function reencodes(p: Packet, v: ProtocolVersion): boolean {
  const first = encodePacket(p, v);
  const d = new PacketDecoder();
  d.protocolVersion = v;
  const sink = new FuzzSink();
  sink.decoder = d;
  d.push(first, sink);
  const again = sink.packets[0];
  return sink.errors.length === 0 && again !== undefined && encodePacket(again.p, v).equals(first);
}

function main(): void {
  const corpus = buildCorpus();
  const pool = corpus.flat();
  let crashes = 0;
  let hangs = 0;
  let untyped = 0;
  let mismatches = 0;
  let accepted = 0;
  let rejected = 0;
  let maxMs = 0;
  const examples: string[] = [];
  const started = performance.now();
  for (let n = 0; n < INPUTS; n++) {
    const vi = rng.int(3);
    const version = VERSIONS[vi] as ProtocolVersion;
    const input = mutate(rng, rng.pick(corpus[vi] as Buffer[]), pool);
    const decoder = new PacketDecoder({ maxPacketSize: rng.next() < 0.1 ? 1 + rng.int(200) : 0 });
    decoder.protocolVersion = version;
    const sink = new FuzzSink();
    sink.decoder = decoder;
    const t0 = performance.now();
    try {
      for (const c of chunks(rng, input)) decoder.push(c, sink);
    } catch (e) {
      crashes++;
      if (examples.length < 10)
        examples.push(`crash ${String(e)} input=${input.toString('hex')} v=${version}`);
    }
    const ms = performance.now() - t0;
    if (ms > maxMs) maxMs = ms;
    if (ms > HANG_MS) {
      hangs++;
      if (examples.length < 10) examples.push(`hang ${ms.toFixed(1)}ms input=${input.toString('hex')}`);
    }
    if (sink.errors.length > 1) untyped++;
    for (const e of sink.errors) {
      if (!isTyped(e)) {
        untyped++;
        if (examples.length < 10)
          examples.push(`untyped ${String(e)} input=${input.toString('hex')} v=${version}`);
      }
    }
    if (sink.errors.length > 0) rejected++;
    else accepted++;
    for (const { p, v } of sink.packets) {
      let ok = false;
      try {
        ok = reencodes(p, v);
      } catch {
        ok = false;
      }
      if (!ok) {
        mismatches++;
        if (examples.length < 10)
          examples.push(`re-encode mismatch type=${p.type} v=${v} input=${input.toString('hex')}`);
      }
    }
  }
  const secs = (performance.now() - started) / 1000;
  console.log(`decoder fuzz: seed=${SEED} inputs=${INPUTS} corpus=${pool.length} in ${secs.toFixed(1)}s`);
  console.log(`  inputs decoded without error: ${accepted}, rejected with a typed error: ${rejected}`);
  console.log(`  crashes (thrown): ${crashes}`);
  console.log(`  hangs (> ${HANG_MS} ms): ${hangs} (slowest input ${maxMs.toFixed(2)} ms)`);
  console.log(`  untyped errors: ${untyped}`);
  console.log(`  re-encode mismatches: ${mismatches}`);
  for (const e of examples) console.log(`  ${e}`);
  if (crashes + hangs + untyped + mismatches > 0) process.exit(1);
}

main();
