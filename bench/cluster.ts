// `npm run bench:cluster` (also run by `npm run bench`): Culex's cluster on Redis, with Aedes' own Redis cluster
// (mqemitter-redis + aedes-persistence-redis) side by side, on the scenarios and generator of bench/run.ts.
//   (a) cross-node: one node vs two nodes with the publishers on node 1 and the subscribers on node 2; every
//       broker process and Redis share core 1 (the generator has core 0), so the ratio is the cost of the hop.
//   (b) `workers 2` vs `workers 1` on fan-in, fan-out and latency (pairs at a fixed rate, about half of them
//       across workers), on both cores (the generator still on core 0).
// Every run starts its own redis-server and brokers. BENCH_DURATION, BENCH_REPS as for `npm run bench`;
// BENCH_CLUSTER_PARTS=a,b, BENCH_CLUSTER_BROKERS=culex,aedes and BENCH_CLUSTER_SCENARIOS=fanin,... select.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrokerStartOptions, type RunningBroker, startBroker } from './brokers.js';
import { ensureLoadgen, type LoadResult, num, runLoadgen } from './loadgen.js';
import { envNumber, machineInfo } from './machine.js';
import { type BenchRedis, startBenchRedis } from './redis.js';
import { median } from './report.js';
import { type Figure, generatorBound, SCENARIOS, type Scenario } from './scenarios.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repoRoot = resolve(here, '..', '..');
const benchSrc = join(repoRoot, 'bench');
const paths = { repoRoot, aedesScript: join(here, 'aedes-server.js') };

/** Routes must reach every node before the window opens (a subscription travels through Redis pub/sub). */
const SETTLE_MS = 500;

type Broker = 'culex' | 'aedes';

/** One way of running a broker: how many nodes (ports), workers per node, and whether Redis is used. */
interface Setup {
  id: string;
  broker: Broker;
  label: string;
  nodes: 1 | 2;
  workers: number;
  redis: boolean;
}

interface Part {
  id: 'a' | 'b';
  title: string;
  /** CPU list of every broker process and Redis. */
  cores: string;
  scenarios: Scenario[];
  setups: Setup[];
  /** Ratios printed: [numerator, denominator] setup ids. */
  ratios: [string, string][];
}

const scenario = (id: string): Scenario => {
  const s = SCENARIOS.find((x) => x.id === id);
  if (s === undefined) throw new Error(`no scenario ${id} in bench/scenarios.ts`);
  return s;
};

const SETUPS: Record<string, Setup> = {
  'culex-1': { id: 'culex-1', broker: 'culex', label: 'Culex, 1 node', nodes: 1, workers: 1, redis: false },
  'culex-2n': {
    id: 'culex-2n',
    broker: 'culex',
    label: 'Culex, 2 nodes',
    nodes: 2,
    workers: 1,
    redis: true,
  },
  'culex-w2': {
    id: 'culex-w2',
    broker: 'culex',
    label: 'Culex, workers 2',
    nodes: 1,
    workers: 2,
    redis: true,
  },
  'aedes-1': { id: 'aedes-1', broker: 'aedes', label: 'Aedes, 1 node', nodes: 1, workers: 1, redis: false },
  'aedes-2n': {
    id: 'aedes-2n',
    broker: 'aedes',
    label: 'Aedes+Redis, 2 nodes',
    nodes: 2,
    workers: 1,
    redis: true,
  },
  'aedes-w2': {
    id: 'aedes-w2',
    broker: 'aedes',
    label: 'Aedes+Redis, 2 procs',
    nodes: 1,
    workers: 2,
    redis: true,
  },
};

const PARTS: Part[] = [
  {
    id: 'a',
    title: '(a) cross-node: publishers on node 1, subscribers on node 2 (all brokers + Redis on core 1)',
    cores: '1',
    scenarios: [scenario('pairs'), scenario('latency')],
    setups: ['culex-1', 'culex-2n', 'aedes-1', 'aedes-2n'].map((id) => SETUPS[id]!),
    ratios: [
      ['culex-2n', 'culex-1'],
      ['aedes-2n', 'aedes-1'],
      ['culex-2n', 'aedes-2n'],
    ],
  },
  {
    id: 'b',
    title: '(b) workers 2 vs workers 1, one port (brokers + Redis on cores 0-1, generator on core 0)',
    cores: '0,1',
    // latency: 10 pairs at 1,000 msg/s, QoS 0; with two workers about half the pairs cross from one to the other.
    scenarios: [scenario('fanin'), scenario('fanout'), scenario('latency')],
    setups: ['culex-1', 'culex-w2', 'aedes-1', 'aedes-w2'].map((id) => SETUPS[id]!),
    ratios: [
      ['culex-w2', 'culex-1'],
      ['aedes-w2', 'aedes-1'],
      ['culex-w2', 'aedes-w2'],
    ],
  },
];

interface ClusterRun {
  part: string;
  scenario: string;
  setup: string;
  rep: number;
  result?: LoadResult;
  invalid?: boolean;
  error?: string;
}

function startOptions(setup: Setup, part: Part, s: Scenario, node: number, redis?: BenchRedis) {
  const options: BrokerStartOptions = { ...s.brokerOptions, cores: part.cores };
  if (setup.broker === 'aedes') {
    const env: Record<string, string> = {};
    if (redis !== undefined) env.BENCH_AEDES_REDIS = redis.url;
    if (setup.workers > 1) env.BENCH_AEDES_WORKERS = String(setup.workers);
    return { ...options, env, readyText: 'aedes running' };
  }
  const extra: string[] = [];
  if (redis !== undefined) extra.push(`cluster_redis_url ${redis.url}`, `cluster_node_id bench-${node}`);
  if (setup.workers > 1) {
    // The primary says "running" once every worker listens (log_type notice); connections are not logged.
    extra.push(`workers ${setup.workers}`, 'log_type notice', 'connection_messages false');
    return { ...options, extraConfig: extra, readyText: ' running' };
  }
  return { ...options, extraConfig: extra };
}

async function runOne(part: Part, s: Scenario, setup: Setup, rep: number, loadgen: string, d: number) {
  const record: ClusterRun = { part: part.id, scenario: s.id, setup: setup.id, rep };
  let redis: BenchRedis | undefined;
  const nodes: RunningBroker[] = [];
  try {
    if (setup.redis) redis = await startBenchRedis(part.cores);
    for (let n = 1; n <= setup.nodes; n++) {
      nodes.push(await startBroker(setup.broker, paths, startOptions(setup, part, s, n, redis)));
    }
    const first = nodes[0]!;
    const last = nodes[nodes.length - 1]!;
    const target = ['--port', String(first.port)];
    if (last !== first) target.push('--sub-port', String(last.port));
    if (redis !== undefined) target.push('--settle-ms', String(SETTLE_MS));
    const pids = [...nodes.flatMap((b) => b.pids()), ...(redis === undefined ? [] : [redis.pid])];
    const measured = pids.flatMap((p) => ['--broker-pid', String(p)]);
    if (s.warmupS !== undefined)
      await runLoadgen(loadgen, [...s.args(s.warmupS), ...target], s.timeoutMs(s.warmupS));
    const label = ['--label', `${s.id}-${setup.id}`];
    record.result = await runLoadgen(
      loadgen,
      [...s.args(d), ...target, ...measured, ...label],
      s.timeoutMs(d),
    );
    record.invalid = generatorBound(record.result);
  } catch (err) {
    record.error = err instanceof Error ? err.message : String(err);
  } finally {
    for (const b of nodes) {
      await b.stop();
      const tail = b.stderrTail().trim();
      if (record.error !== undefined && tail !== '') record.error += ` | stderr: ${tail.slice(-300)}`;
      b.dispose();
    }
    await redis?.stop();
  }
  return record;
}

function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

interface Row {
  part: string;
  scenario: string;
  figure: string;
  values: Record<string, number | undefined>;
  ratios: Record<string, number | undefined>;
}

/**
 * CPU of every broker process and Redis per message received, in µs: on a loaded machine the rates follow the
 * CPU a run was given, this follows what a message costs (what `workers 2` can gain on free cores).
 */
const cpuPerMessage: Figure = {
  name: 'brokers+Redis CPU per msg',
  unit: 'µs',
  higherIsBetter: false,
  read: (r) => (num(r, 'broker_cpu') * 1e4) / num(r, 'rate'),
};

function summarize(parts: readonly Part[], runs: readonly ClusterRun[]): Row[] {
  const rows: Row[] = [];
  for (const p of parts) {
    for (const s of p.scenarios) {
      for (const f of [...s.figures, cpuPerMessage]) {
        const values: Row['values'] = {};
        for (const setup of p.setups) {
          const mine = runs.filter((r) => r.part === p.id && r.scenario === s.id && r.setup === setup.id);
          const ok = mine.filter((r) => r.result !== undefined && r.invalid !== true);
          const use = ok.length > 0 ? ok : mine.filter((r) => r.result !== undefined);
          values[setup.id] = median(use.map((r) => f.read(r.result!)));
        }
        const ratios: Row['ratios'] = {};
        for (const [a, b] of p.ratios) {
          const x = values[a];
          const y = values[b];
          ratios[`${a}/${b}`] = x !== undefined && y !== undefined && y !== 0 ? x / y : undefined;
        }
        rows.push({
          part: p.id,
          scenario: s.id,
          figure: `${f.name} (${f.unit}) ${f.higherIsBetter ? '↑' : '↓'}`,
          values,
          ratios,
        });
      }
    }
  }
  return rows;
}

function table(p: Part, rows: readonly Row[]): string {
  const head = [
    'scenario',
    'figure',
    ...p.setups.map((s) => s.label),
    ...p.ratios.map(([a, b]) => `${a}/${b}`),
  ];
  const lines = [p.title, `| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows.filter((x) => x.part === p.id)) {
    const cells = [
      r.scenario,
      r.figure,
      ...p.setups.map((s) => fmt(r.values[s.id])),
      ...p.ratios.map(([a, b]) => {
        const v = r.ratios[`${a}/${b}`];
        return v === undefined ? '-' : `${v.toFixed(2)}x`;
      }),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Loss, duplicates, errors and CPU per run: what a reader needs to trust (or not) a figure. */
function notes(runs: readonly ClusterRun[]): string[] {
  return runs.map((r) => {
    const tag = `${r.part} ${r.scenario} ${r.setup} rep ${r.rep}`;
    if (r.result === undefined) return `${tag}: error ${r.error ?? '?'}`;
    const x = r.result;
    const extra = ['lost', 'dups', 'disconnects', 'conn_failed']
      .filter((k) => num(x, k) > 0)
      .map((k) => `${k} ${num(x, k)}`);
    return `${tag}: rate ${fmt(num(x, 'rate'))}/s, gen ${fmt(num(x, 'gen_cpu'))} %, brokers+redis ${fmt(num(x, 'broker_cpu'))} %${extra.length > 0 ? `, ${extra.join(', ')}` : ''}${r.invalid ? ' (INVALID: generator-bound)' : ''}`;
  });
}

function selected<T extends string>(name: string, all: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...all];
  const want = raw.split(',').map((x) => x.trim().toLowerCase());
  const bad = want.filter((w) => !(all as readonly string[]).includes(w));
  if (bad.length > 0) throw new Error(`unknown value(s) in ${name}: ${bad.join(', ')}`);
  return all.filter((a) => want.includes(a));
}

async function main(): Promise<void> {
  const durationS = envNumber('BENCH_DURATION', 10, 1, 600);
  const reps = Math.round(envNumber('BENCH_REPS', 3, 1, 50));
  const partIds = selected('BENCH_CLUSTER_PARTS', ['a', 'b'] as const);
  const brokers = selected('BENCH_CLUSTER_BROKERS', ['culex', 'aedes'] as const);
  const parts = PARTS.filter((p) => partIds.includes(p.id)).map((p) => {
    const setups = p.setups.filter((s) => brokers.includes(s.broker));
    const ids = new Set(setups.map((s) => s.id));
    const only = process.env.BENCH_CLUSTER_SCENARIOS?.split(',').map((x) => x.trim());
    const scenarios = only === undefined ? p.scenarios : p.scenarios.filter((x) => only.includes(x.id));
    return { ...p, setups, scenarios, ratios: p.ratios.filter(([a, b]) => ids.has(a) && ids.has(b)) };
  });
  const loadgen = ensureLoadgen(benchSrc);
  const started = new Date();
  const machine = machineInfo(repoRoot);
  console.log(`culex cluster bench: parts ${partIds.join(',')}; ${durationS} s x ${reps} rep(s)`);
  const runs: ClusterRun[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    for (const p of parts) {
      for (const s of p.scenarios) {
        for (const setup of p.setups) {
          const r = await runOne(p, s, setup, rep, loadgen, durationS);
          runs.push(r);
          const f = s.figures[0]!;
          const shown = r.result !== undefined ? fmt(f.read(r.result)) : `error: ${r.error}`;
          console.log(`  rep ${rep} ${p.id} ${s.id.padEnd(8)} ${setup.label.padEnd(22)} ${f.name}: ${shown}`);
        }
      }
    }
  }
  const rows = summarize(parts, runs);
  const tables = parts.map((p) => table(p, rows));
  console.log(`\n${tables.join('\n\n')}\n`);
  console.log(`medians of ${reps} run(s), ${durationS} s windows; ↑ higher is better, ↓ lower is better`);
  const runNotes = notes(runs);
  console.log(`runs:\n  ${runNotes.join('\n  ')}`);
  const dir = join(benchSrc, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `cluster-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const report = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    durationS,
    reps,
  };
  writeFileSync(file, `${JSON.stringify({ ...report, rows, tables, notes: runNotes, runs }, null, 2)}\n`);
  console.log(`results: ${file}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
