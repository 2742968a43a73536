// Network fuzzer: a real Culex process (bin/culex.js) with a TCP and a WebSocket listener, a password file and an
// ACL, takes N mutated connections (damaged packet sequences, floods, deep and long topics, huge lengths, stalls
// mid-packet, abrupt closes) while well-behaved `mqtt` clients publish and receive QoS 0 and 1 once a second.
// Fails if the broker exits, its RSS passes a bound, a well-behaved client misses a message or is dropped, or the
// broker logs an internal error.
//
//   npm run fuzz:net -- [connections] [seed]     (env: FUZZ_CONNECTIONS, FUZZ_SEED, FUZZ_CONCURRENCY,
//                                                 FUZZ_RSS_MB, FUZZ_KNOWN=0 to leave out the inputs of
//                                                 issue 10: 10,000+ level filters, big pre-CONNECT packets)

import { readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { main as passwdMain } from '../../src/cli/passwd.js';
import { freePort, sleep } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir } from '../helpers/processes.js';
import { Rng } from './mutate.js';
import { InputMaker, type Script } from './net-inputs.js';

export interface NetFuzzOptions {
  connections: number;
  seed: number;
  concurrency?: number;
  rssLimitMb?: number;
  known?: boolean;
  /** Progress lines; silent when absent. */
  progress?: (line: string) => void;
}

export interface NetFuzzResult {
  seed: number;
  connections: number;
  seconds: number;
  perSecond: number;
  baselineRssMb: number;
  peakRssMb: number;
  finalRssMb: number;
  closedByBroker: number;
  bytesSent: number;
  byTransport: Record<string, number>;
  good: { sent: number; received: number; missed: string[]; disconnects: number };
  /** The broker's own figures at the end ($SYS: retained messages, subscriptions, heap, clients). */
  sys: Record<string, string>;
  failures: string[];
}

interface Good {
  client: MqttClient;
  got: Set<string>;
  closes: number;
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function startBroker(): Promise<{ broker: BrokerProcess; wsPort: number }> {
  const dir = tempDir('culex-netfuzz-');
  const [port, wsPort] = [await freePort(), await freePort()];
  const pw = join(dir, 'passwd');
  writeFileSync(pw, '');
  await passwdMain(['-b', pw, 'fuzz', 'fuzz']);
  const acl = join(dir, 'acl');
  writeFileSync(
    acl,
    'topic readwrite #\ntopic read $SYS/#\n\nuser fuzz\ntopic readwrite fz/#\ntopic read $SYS/#\npattern write c/%c/#\n',
  );
  const conf = join(dir, 'culex.conf');
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      `listener ${wsPort} 127.0.0.1`,
      'protocol websockets',
      'allow_anonymous true',
      `password_file ${pw}`,
      `acl_file ${acl}`,
      'connection_messages false',
      'sys_interval 1',
      '',
    ].join('\n'),
  );
  const broker = await launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c], conf, port);
  return { broker, wsPort };
}

/** The retained $SYS figures that tell growth by design (retained messages, subscriptions) from a leak. */
async function sysFigures(client: MqttClient): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const names = ['retained messages/count', 'subscriptions/count', 'heap/current', 'clients/total'];
  const onMessage = (topic: string, payload: Buffer) => {
    if (topic.startsWith('$SYS/')) out[topic.slice('$SYS/broker/'.length)] = payload.toString();
  };
  client.on('message', onMessage);
  await client.subscribeAsync(names.map((n) => `$SYS/broker/${n}`));
  for (let i = 0; i < 40 && Object.keys(out).length < names.length; i++) await sleep(50);
  client.off('message', onMessage);
  return out;
}

async function goodClient(url: string, id: string, topic: string, version: 4 | 5): Promise<Good> {
  const client = mqtt.connect(url, {
    clientId: id,
    protocolVersion: version,
    reconnectPeriod: 0,
    keepalive: 30,
  });
  const good: Good = { client, got: new Set(), closes: 0 };
  client.on('message', (t, payload) => {
    if (!t.startsWith('$SYS/')) good.got.add(payload.toString());
  });
  client.on('close', () => good.closes++);
  client.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return good;
}

/** A function that, the first time it is called (or after 3 s), closes the connection and reports. */
function finisher(close: () => void, report: () => void): () => void {
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(guard);
    close();
    report();
  };
  const guard = setTimeout(finish, 3000);
  return finish;
}

/** Sends the script's bytes with its pacing, then ends the connection its way; resolves true if the broker closed. */
function runTcp(port: number, s: Script): Promise<boolean> {
  return new Promise((resolve) => {
    const sock: Socket = netConnect(port, '127.0.0.1');
    let brokerClosed = false;
    const finish = finisher(
      () => sock.destroy(),
      () => resolve(brokerClosed),
    );
    sock.on('error', () => {});
    sock.on('data', () => {});
    sock.on('end', () => {
      brokerClosed = true;
    });
    sock.once('close', finish);
    sock.once('connect', async () => {
      for (let i = 0; i < s.chunks.length && !sock.destroyed; i++) {
        if (i === s.stallAt) await sleep(s.stallMs);
        if (!sock.write(s.chunks[i] as Buffer)) await Promise.race([once(sock, 'drain'), sleep(500)]);
      }
      if (s.ending === 'destroy') finish();
      else if (s.ending === 'reset') {
        sock.resetAndDestroy();
        finish();
      } else {
        if (s.ending === 'end') sock.end();
        setTimeout(finish, s.waitMs);
      }
    });
  });
}

function runWs(port: number, s: Script): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, 'mqtt');
    let brokerClosed = false;
    let ours = false;
    const finish = finisher(
      () => {
        ours = true;
        ws.terminate();
      },
      () => resolve(brokerClosed),
    );
    ws.on('error', () => {});
    ws.on('close', () => {
      if (!ours) brokerClosed = true;
      finish();
    });
    ws.once('open', async () => {
      for (let i = 0; i < s.chunks.length && ws.readyState === WebSocket.OPEN; i++) {
        if (i === s.stallAt) await sleep(s.stallMs);
        ws.send(s.chunks[i] as Buffer);
      }
      if (s.ending === 'destroy' || s.ending === 'reset') finish();
      else {
        if (s.ending === 'end') ws.close();
        setTimeout(finish, s.waitMs);
      }
    });
  });
}

function once(emitter: Socket, event: string): Promise<void> {
  return new Promise((resolve) => emitter.once(event, () => resolve()));
}

export async function runNetworkFuzz(o: NetFuzzOptions): Promise<NetFuzzResult> {
  const log = o.progress ?? (() => {});
  const rssLimit = o.rssLimitMb ?? 512;
  const maker = new InputMaker(o.seed, o.known ?? true);
  const rng = new Rng(o.seed);
  const { broker, wsPort } = await startBroker();
  const failures: string[] = [];
  const byTransport: Record<string, number> = { tcp: 0, ws: 0, 'ws-raw': 0 };
  let closedByBroker = 0;
  let bytesSent = 0;
  const baselineRssMb = rssMb(broker.pid);
  let peakRssMb = baselineRssMb;
  const sampler = setInterval(() => {
    if (broker.exitStatus() !== null) return;
    const r = rssMb(broker.pid);
    if (r > peakRssMb) peakRssMb = r;
  }, 100);
  const topic = `good/${o.seed}`;
  const goods = [
    await goodClient(`mqtt://127.0.0.1:${broker.port}`, `good-tcp-${o.seed}`, `${topic}/#`, 4),
    await goodClient(`ws://127.0.0.1:${wsPort}/mqtt`, `good-ws-${o.seed}`, `${topic}/#`, 5),
  ];
  const sent: string[] = [];
  let seq = 0;
  const publisher = goods[0] as Good;
  const publishTick = () => {
    for (const qos of [0, 1] as const) {
      const payload = `${qos}:${seq}`;
      sent.push(payload);
      publisher.client.publish(`${topic}/q${qos}`, payload, { qos });
    }
    seq++;
  };
  publishTick();
  const ticker = setInterval(publishTick, 1000);

  // Scripts running when the broker dies are the suspects: their bytes are written out for a replay.
  const inFlight = new Set<Script>();
  const started = performance.now();
  let next = 0;
  let finished = 0;
  const worker = async () => {
    while (next < o.connections && broker.exitStatus() === null) {
      next++;
      const script = maker.next(rng);
      byTransport[script.transport] = (byTransport[script.transport] ?? 0) + 1;
      for (const c of script.chunks) bytesSent += c.length;
      const port = script.transport === 'tcp' ? broker.port : wsPort;
      inFlight.add(script);
      if (await (script.transport === 'ws' ? runWs(port, script) : runTcp(port, script))) closedByBroker++;
      if (broker.exitStatus() === null) inFlight.delete(script);
      if (++finished % 5000 === 0) {
        const secs = (performance.now() - started) / 1000;
        log(
          `  ${finished} connections, ${(finished / secs).toFixed(0)}/s, peak RSS ${peakRssMb.toFixed(1)} MB`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: o.concurrency ?? 64 }, worker));
  const seconds = (performance.now() - started) / 1000;
  clearInterval(ticker);

  // Every message the good clients should have: wait for the last ones to arrive.
  const missing = () =>
    goods.flatMap((g, i) => sent.filter((p) => !g.got.has(p)).map((p) => `client ${i}: ${p}`));
  for (let i = 0; i < 60 && missing().length > 0 && broker.exitStatus() === null; i++) await sleep(50);
  clearInterval(sampler);
  const sys =
    broker.exitStatus() === null && publisher.client.connected ? await sysFigures(publisher.client) : {};
  const exit = broker.exitStatus();
  const finalRssMb = exit === null ? rssMb(broker.pid) : 0;
  if (exit !== null) {
    const suspects = join(tempDir('culex-netfuzz-crash-'), 'suspects.json');
    const dump = [...inFlight].map((s) => ({ ...s, chunks: s.chunks.map((c) => c.toString('hex')) }));
    writeFileSync(suspects, JSON.stringify(dump, null, 1));
    failures.push(
      `broker exited (${exit}); connections in flight: ${suspects}\n${broker.log().slice(-3000)}`,
    );
  }
  if (peakRssMb > rssLimit)
    failures.push(`peak RSS ${peakRssMb.toFixed(1)} MB over the ${rssLimit} MB bound`);
  const missed = missing();
  if (missed.length > 0)
    failures.push(`good clients missed ${missed.length}: ${missed.slice(0, 10).join(', ')}`);
  const disconnects = goods.reduce((n, g) => n + g.closes, 0);
  if (disconnects > 0) failures.push(`good clients were disconnected ${disconnects} time(s)`);
  const internal = broker.log().match(/^.*([A-Z][a-z]+Error\b|Uncaught| {4}at ).*$/gm);
  if (internal) failures.push(`broker logged internal errors:\n${internal.slice(0, 20).join('\n')}`);
  for (const g of goods) g.client.end(true);
  await broker.stop();
  return {
    seed: o.seed,
    connections: finished,
    seconds,
    perSecond: finished / seconds,
    baselineRssMb,
    peakRssMb,
    finalRssMb,
    closedByBroker,
    bytesSent,
    byTransport,
    sys,
    good: { sent: sent.length, received: goods.reduce((n, g) => n + g.got.size, 0), missed, disconnects },
    failures,
  };
}

async function main(): Promise<void> {
  const connections = Number(process.argv[2] ?? process.env.FUZZ_CONNECTIONS ?? 50_000);
  const seed = Number(process.argv[3] ?? process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
  const known = process.env.FUZZ_KNOWN !== '0';
  console.log(
    `network fuzz: seed=${seed} connections=${connections}${known ? '' : ' (without the issue 10 inputs)'}`,
  );
  const r = await runNetworkFuzz({
    connections,
    seed,
    known,
    concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 64),
    rssLimitMb: Number(process.env.FUZZ_RSS_MB ?? 512),
    progress: (l) => console.log(l),
  });
  console.log(
    `  ${r.connections} connections in ${r.seconds.toFixed(1)} s (${r.perSecond.toFixed(0)}/s): ` +
      `tcp ${r.byTransport.tcp}, ws ${r.byTransport.ws}, raw ws ${r.byTransport['ws-raw']}; ` +
      `${r.closedByBroker} closed by the broker; ${(r.bytesSent / 2 ** 20).toFixed(1)} MiB sent`,
  );
  console.log(
    `  RSS: ${r.baselineRssMb.toFixed(1)} MB at start, peak ${r.peakRssMb.toFixed(1)} MB, ${r.finalRssMb.toFixed(1)} MB at the end`,
  );
  console.log(
    `  good clients: ${r.good.sent} published, ${r.good.received} received (2 subscribers), ` +
      `${r.good.missed.length} missed, ${r.good.disconnects} disconnects`,
  );
  console.log(
    `  broker at the end: ${Object.entries(r.sys)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  for (const f of r.failures) console.log(`  FAILURE: ${f}`);
  console.log(
    r.failures.length === 0
      ? '  no failures'
      : `  replay: FUZZ_SEED=${seed} npm run fuzz:net -- ${connections}`,
  );
  process.exit(r.failures.length === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
