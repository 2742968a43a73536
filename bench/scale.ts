// Scale figures (issue 17): memory with many clients, subscriptions and retained messages, start-up time from a
// large SQLite store, and how long a `#` subscriber to a million retained messages takes while the broker keeps
// answering other clients. `npm run bench:scale`; not part of the unit tests. See docs/performance.md.
//
//   SCALE_PARTS=clients,retained,subscriptions   which parts (default all)
//   SCALE_BROKERS=culex,mosquitto                part "clients" only (the others need Culex's SQLite store)
//   SCALE_CLIENTS=5000 SCALE_SUBS=20 SCALE_SMALL_RETAINED=50000   part "clients"
//   SCALE_RETAINED=1000000 SCALE_SUBSCRIPTIONS=1000000             parts "retained", "subscriptions"
//   SCALE_HEAP=1                                 part "clients": write a heap snapshot of Culex and summarise it

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Message } from '../src/broker/message.js';
import { SqliteStore } from '../src/persistence/sqlite-store.js';
import { freePort } from './brokers.js';
import { summarizeHeap } from './heap-summary.js';
import type { ScaleAnswer, ScaleRequest } from './scale-broker.js';
import { ScaleClient } from './scale-client.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repo = resolve(here, '..', '..');
const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const PAYLOAD = Buffer.alloc(64, 0x61);

interface Running {
  child: ChildProcess;
  port: number;
  startMs: number;
  /** CPU time used until listening, ms. */
  startCpuMs: number;
  ask(cmd: ScaleRequest['cmd'], dir?: string): Promise<ScaleAnswer>;
  rssMiB(): number;
  /** CPU time the broker used so far (user + system), ms. */
  cpuMs(): number;
  stop(): Promise<void>;
}

function conf(port: number, db: string | undefined): string {
  const lines = [`listener ${port} 127.0.0.1`, 'allow_anonymous true', 'log_dest stderr', 'log_type error'];
  lines.push('user root');
  if (db !== undefined) lines.push('persistence true', `persistence_location ${db}/`);
  return `${lines.join('\n')}\n`;
}

async function waitListening(port: number, child: ChildProcess): Promise<void> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((res) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function start(broker: 'culex' | 'mosquitto', work: string, db?: string): Promise<Running> {
  const port = await freePort();
  const file = join(work, `${broker}-${port}.conf`);
  writeFileSync(file, conf(port, db));
  const t0 = performance.now();
  const argv =
    broker === 'culex'
      ? [
          process.execPath,
          '--max-semi-space-size=2',
          ...(process.env.SCALE_NODE_FLAGS ?? '').split(' ').filter(Boolean),
          join(here, 'scale-broker.js'),
          '-c',
          file,
        ]
      : ['mosquitto', '-c', file];
  const child = spawn('taskset', ['-c', '1', ...argv], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await waitListening(port, child);
  const startMs = performance.now() - t0;
  const startCpuMs = cpuOf(child.pid ?? 0);
  let id = 0;
  const pending = new Map<number, (a: ScaleAnswer) => void>();
  child.on('message', (a: ScaleAnswer) => pending.get(a.id)?.(a));
  return {
    child,
    port,
    startMs,
    startCpuMs,
    ask(cmd, dir) {
      const req: ScaleRequest = { id: ++id, cmd, ...(dir === undefined ? {} : { dir }) };
      return new Promise((res) => {
        pending.set(req.id, res);
        child.send(req);
      });
    },
    rssMiB() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
    },
    cpuMs: () => cpuOf(child.pid ?? 0),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    },
  };
}

/** User + system CPU time of a process, ms (from /proc; clock ticks of 10 ms). */
function cpuOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

const settle = async (b: Running, broker: string): Promise<void> => {
  await new Promise((r) => setTimeout(r, env('SCALE_SETTLE_MS', 500)));
  if (broker === 'culex') await b.ask('gc');
};

/** Runs `fn` over `items` with at most `width` at a time. */
async function parallel<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let at = 0;
  const lane = async (): Promise<void> => {
    while (at < items.length) await fn(items[at++]!);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

/** Part "clients": N clients x S subscriptions, each filter matching one of R retained messages (received). */
async function clientsPart(work: string, out: Record<string, unknown>): Promise<void> {
  const clients = env('SCALE_CLIENTS', 5000);
  const subs = env('SCALE_SUBS', 20);
  const retained = env('SCALE_SMALL_RETAINED', 50_000);
  const brokers = (process.env.SCALE_BROKERS ?? 'culex,mosquitto').split(',') as Array<'culex' | 'mosquitto'>;
  for (const name of brokers) {
    const b = await start(name, work);
    await settle(b, name);
    const idle = b.rssMiB();
    const pub = await ScaleClient.connect(b.port, 'scale-pub');
    for (let i = 0; i < retained; i++)
      pub.send({
        type: 3,
        topic: `scale/r/${i}`,
        payload: PAYLOAD,
        qos: 0,
        retain: true,
        dup: false,
        packetId: 0,
      });
    const marker = pub.next(4);
    pub.send({
      type: 3,
      topic: 'scale/end',
      payload: PAYLOAD,
      qos: 1,
      retain: false,
      dup: false,
      packetId: 1,
    });
    await marker;
    await settle(b, name);
    const withRetained = b.rssMiB();
    const conns: ScaleClient[] = [];
    const t0 = performance.now();
    await parallel(
      Array.from({ length: clients }, (_, i) => i),
      100,
      async (c) => {
        const client = await ScaleClient.connect(b.port, `scale-${c}`);
        conns.push(client);
        const filters = Array.from({ length: subs }, (_, k) => `scale/r/${(c * subs + k) % retained}`);
        const all = new Promise<void>((res) => {
          client.onPublish = () => {
            if (client.publishes === subs) res();
          };
        });
        await client.subscribe(filters);
        await all;
      },
    );
    const setupMs = performance.now() - t0;
    await settle(b, name);
    const rss = b.rssMiB();
    const row: Record<string, unknown> = {
      idleMiB: idle,
      withRetainedMiB: withRetained,
      rssMiB: rss,
      setupMs,
      bytesPerRetained: ((withRetained - idle) * 1048576) / retained,
      bytesPerClientWith20Subs: ((rss - withRetained) * 1048576) / clients,
    };
    if (name === 'culex') row.memory = (await b.ask('mem')).mem;
    if (name === 'culex' && process.env.SCALE_HEAP === '1') {
      const file = (await b.ask('heap', work)).file!;
      row.heap = summarizeHeap(file, 40);
    }
    out[`clients-${name}`] = row;
    console.log(
      `${name}: ${clients} clients x ${subs} subscriptions + ${retained} retained: RSS ${rss.toFixed(1)} MiB ` +
        `(idle ${idle.toFixed(1)}, with the retained ${withRetained.toFixed(1)}); set-up ${setupMs.toFixed(0)} ms` +
        (row.memory === undefined ? '' : ` ${JSON.stringify(row.memory)}`),
    );
    for (const c of conns) c.close();
    pub.close();
    await b.stop();
  }
}

/** Writes a store with `fill` and returns its directory. */
function makeStore(work: string, name: string, fill: (store: SqliteStore) => void): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const store = new SqliteStore(join(dir, 'mosquitto.db'));
  store.load(Date.now());
  fill(store);
  store.commit();
  store.close();
  return dir;
}

/** Pings every 10 ms until stopped; the longest round trip seen. */
function probe(client: ScaleClient): { stop(): Promise<number> } {
  let running = true;
  let worst = 0;
  const loop = (async () => {
    while (running) {
      worst = Math.max(worst, await client.ping());
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return worst;
    },
  };
}

async function startupFigures(b: Running, empty: Running): Promise<Record<string, number>> {
  const startCpuMs = b.cpuMs();
  const startLag = (await b.ask('lag')).maxLagMs ?? 0;
  await settle(b, 'culex');
  return {
    startMs: b.startMs,
    startCpuMs,
    emptyStartMs: empty.startMs,
    emptyStartCpuMs: empty.startCpuMs,
    startupMaxLagMs: startLag,
    rssMiB: b.rssMiB(),
  };
}

/** Part "retained": N retained messages restored from SQLite, then a `#` subscriber, with a probe client. */
async function retainedPart(work: string, empty: Running, out: Record<string, unknown>): Promise<void> {
  const n = env('SCALE_RETAINED', 1_000_000);
  const t0 = performance.now();
  const dir = makeStore(work, 'retained', (store) => {
    for (let i = 1; i <= n; i++) {
      const m = new Message(
        `scale/r/${Math.floor(i / 1000)}/${i % 1000}`,
        PAYLOAD,
        0,
        true,
        undefined,
        'p',
        0,
      );
      m.id = i;
      store.setRetained(m.topic, m, undefined);
      if (i % 10_000 === 0) store.commit();
    }
  });
  const writeMs = performance.now() - t0;
  const b = await start('culex', work, dir);
  const figures: Record<string, number> = {
    count: n,
    writeStoreMs: writeMs,
    ...(await startupFigures(b, empty)),
  };
  figures.bytesPerRetained = ((figures.rssMiB! - (out.emptyRssMiB as number)) * 1048576) / n;
  const other = await ScaleClient.connect(b.port, 'probe');
  const sub = await ScaleClient.connect(b.port, 'everything');
  await b.ask('lag');
  const p = probe(other);
  const done = new Promise<void>((res) => {
    sub.onPublish = () => {
      if (sub.publishes === n) res();
    };
  });
  const s0 = performance.now();
  const c0 = b.cpuMs();
  await sub.subscribe(['#']);
  await done;
  figures.hashReceiveAllMs = performance.now() - s0;
  figures.hashBrokerCpuMs = b.cpuMs() - c0;
  figures.hashMaxLagMs = (await b.ask('lag')).maxLagMs ?? 0;
  figures.probeMaxRttMs = await p.stop();
  figures.peakRssMiB = b.rssMiB();
  out.retained = figures;
  console.log(`retained x ${n}:`, JSON.stringify(figures));
  other.close();
  sub.close();
  await b.stop();
}

/** Part "subscriptions": N subscriptions of persistent sessions (100 each) restored from SQLite. */
async function subscriptionsPart(work: string, empty: Running, out: Record<string, unknown>): Promise<void> {
  const n = env('SCALE_SUBSCRIPTIONS', 1_000_000);
  const perSession = 100;
  const dir = makeStore(work, 'subscriptions', (store) => {
    for (let s = 0; s < n / perSession; s++) {
      const clientId = `scale-s-${s}`;
      store.saveSession({ clientId, expiryInterval: 0xffffffff, disconnectedAt: Date.now() });
      for (let k = 0; k < perSession; k++) {
        const filter = `scale/s/${s}/${k}`;
        store.saveSubscription(clientId, {
          filter,
          matchFilter: filter,
          shareGroup: undefined,
          qos: 1,
          noLocal: false,
          retainAsPublished: false,
          retainHandling: 0,
          identifier: 0,
        });
      }
      if (s % 100 === 0) store.commit();
    }
  });
  const b = await start('culex', work, dir);
  const figures: Record<string, number> = { count: n, ...(await startupFigures(b, empty)) };
  figures.bytesPerSubscription = ((figures.rssMiB! - (out.emptyRssMiB as number)) * 1048576) / n;
  // One message routed to one of them, through the probe: the broker answers at once after the restore.
  const other = await ScaleClient.connect(b.port, 'probe');
  figures.pingAfterStartMs = await other.ping();
  out.subscriptions = figures;
  console.log(`subscriptions x ${n}:`, JSON.stringify(figures));
  other.close();
  await b.stop();
}

async function runAll(): Promise<void> {
  const parts = (process.env.SCALE_PARTS ?? 'clients,retained,subscriptions').split(',');
  const work = mkdtempSync(join(tmpdir(), 'culex-scale-'));
  const out: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
  try {
    if (parts.includes('clients')) await clientsPart(work, out);
    if (parts.includes('retained') || parts.includes('subscriptions')) {
      const empty = await start(
        'culex',
        work,
        makeStore(work, 'empty', () => {}),
      );
      await settle(empty, 'culex');
      out.emptyRssMiB = empty.rssMiB();
      out.emptyStartMs = empty.startMs;
      await empty.stop();
      if (parts.includes('retained')) await retainedPart(work, empty, out);
      if (parts.includes('subscriptions')) await subscriptionsPart(work, empty, out);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const results = join(repo, 'bench', 'results');
  mkdirSync(results, { recursive: true });
  const file = join(results, `scale-${(out.date as string).replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  console.log(`results: ${file}`);
}

await runAll();
