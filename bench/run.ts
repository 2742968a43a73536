// `npm run bench`: every scenario against a fresh Culex, Mosquitto and Aedes; prints a table and writes JSON.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ALL_BROKERS,
  type BrokerName,
  BrokerStartError,
  type RunningBroker,
  startBroker,
} from './brokers.js';
import { writeChart } from './chart.js';
import { ensureLoadgen, runLoadgen } from './loadgen.js';
import { envNumber, machineInfo, tryText } from './machine.js';
import { anomalies, cpuLines, type RunRecord, renderTable, summarize } from './report.js';
import { generatorBound, type Scenario, selectScenarios } from './scenarios.js';

const here = dirname(fileURLToPath(import.meta.url)); // dist/bench
const repoRoot = resolve(here, '..', '..');
const benchSrc = join(repoRoot, 'bench');

interface Settings {
  durationS: number;
  reps: number;
  scenarios: Scenario[];
  brokers: BrokerName[];
}

function settings(): Settings {
  const brokersRaw = process.env.BENCH_BROKERS;
  const brokers =
    brokersRaw === undefined || brokersRaw.trim() === ''
      ? [...ALL_BROKERS]
      : brokersRaw.split(',').map((b) => b.trim().toLowerCase());
  const bad = brokers.filter((b) => !(ALL_BROKERS as readonly string[]).includes(b));
  if (bad.length > 0) throw new Error(`unknown broker(s) in BENCH_BROKERS: ${bad.join(', ')}`);
  return {
    durationS: envNumber('BENCH_DURATION', 10, 1, 600),
    reps: Math.round(envNumber('BENCH_REPS', 3, 1, 50)),
    scenarios: selectScenarios(process.env.BENCH_SCENARIOS),
    brokers: brokers as BrokerName[],
  };
}

/** One generator run against one fresh broker. */
async function runOne(
  s: Scenario,
  broker: BrokerName,
  rep: number,
  loadgen: string,
  d: number,
): Promise<RunRecord> {
  const record: RunRecord = { scenario: s.id, broker, rep, notes: [] };
  let b: RunningBroker;
  try {
    b = await startBroker(broker, { repoRoot, aedesScript: join(here, 'aedes-server.js') }, s.brokerOptions);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    // Persistence is still being built: a config Culex refuses means "not available yet", not a failure.
    if (err instanceof BrokerStartError && s.brokerOptions?.persistence === true) record.skipped = why;
    else record.error = why;
    return record;
  }
  try {
    const args = [
      ...s.args(d),
      '--port',
      String(b.port),
      '--broker-pid',
      String(b.pid),
      '--label',
      `${s.id}-${broker}`,
    ];
    // Steady-state scenarios first run the same load briefly, unmeasured, on the same broker process, so a
    // JIT-compiled broker is not measured while it compiles (Mosquitto gets the same warm-up).
    if (s.warmupS !== undefined)
      await runLoadgen(loadgen, [...s.args(s.warmupS), '--port', String(b.port)], s.timeoutMs(s.warmupS));
    record.result = await runLoadgen(loadgen, args, s.timeoutMs(d));
    record.invalid = generatorBound(record.result);
    // A broker that accepted no client at all (e.g. a listener it could not start) has no figure, only an error.
    if (record.result.ok === 0) {
      record.error = `no client connected${b.stderrTail() ? `: ${b.stderrTail().trim().split('\n').pop()}` : ''}`;
      delete record.result;
    }
  } catch (err) {
    record.error = err instanceof Error ? err.message : String(err);
  } finally {
    await b.stop();
    if (b.persistenceDir !== undefined && b.persistenceFiles().length === 0) {
      record.notes.push('nothing written to persistence_location (persistence not active yet?)');
    }
    const tail = b.stderrTail().trim();
    if (tail !== '')
      record.notes.push(`broker stderr: ${tail.split('\n').slice(-2).join(' | ').slice(0, 300)}`);
    b.dispose();
  }
  return record;
}

function mosquittoAvailable(): boolean {
  return tryText('sh', ['-c', 'command -v mosquitto']) !== '';
}

async function main(): Promise<void> {
  const cfg = settings();
  const loadgen = ensureLoadgen(benchSrc);
  if (cfg.brokers.includes('mosquitto') && !mosquittoAvailable()) {
    console.error('mosquitto not found in PATH; skipping it (apt-get install mosquitto)');
    cfg.brokers = cfg.brokers.filter((b) => b !== 'mosquitto');
  }
  const started = new Date();
  const machine = machineInfo(repoRoot);
  console.log(
    `culex bench: ${cfg.scenarios.map((s) => s.id).join(',')} on ${cfg.brokers.join(',')}; ` +
      `${cfg.durationS} s x ${cfg.reps} rep(s); broker on core 1, generator on core 0`,
  );
  const runs: RunRecord[] = [];
  for (let rep = 1; rep <= cfg.reps; rep++) {
    for (const s of cfg.scenarios) {
      for (const broker of cfg.brokers) {
        if (s.brokers !== undefined && !s.brokers.includes(broker)) continue;
        const r = await runOne(s, broker, rep, loadgen, cfg.durationS);
        runs.push(r);
        const first = s.figures[0]!;
        const shown =
          r.result !== undefined ? first.read(r.result).toFixed(1) : (r.skipped ?? r.error ?? '?');
        console.log(
          `  rep ${rep} ${s.id.padEnd(11)} ${broker.padEnd(9)} ${first.name}: ${shown}${r.invalid ? ' (invalid)' : ''}`,
        );
      }
    }
  }
  const rows = summarize(cfg.scenarios, cfg.brokers, runs);
  const table = renderTable(rows, runs);
  const notes = anomalies(runs);
  const cpu = cpuLines(cfg.scenarios, cfg.brokers, runs);
  console.log(`\n${table}\n`);
  console.log(
    `medians of ${cfg.reps} run(s), ${cfg.durationS} s windows; ↑ higher is better, ↓ lower is better`,
  );
  console.log(`CPU (% of one core) and peak broker RSS:\n  ${cpu.join('\n  ')}`);
  if (notes.length > 0) console.log(`anomalies:\n  ${notes.join('\n  ')}`);
  const dir = join(benchSrc, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const report = {
    date: started.toISOString(),
    finished: new Date().toISOString(),
    machine,
    settings: {
      durationS: cfg.durationS,
      reps: cfg.reps,
      scenarios: cfg.scenarios.map((s) => s.id),
      brokers: cfg.brokers,
    },
    summary: rows,
    table,
    cpu,
    anomalies: notes,
    runs,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results: ${file}`);
  // The same table as a chart, next to the JSON (the README shows a copy: docs/bench.svg).
  const chart = file.replace(/\.json$/, '.svg');
  await writeChart(report, chart);
  console.log(`chart: ${chart}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
