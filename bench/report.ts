// Turns run records into medians, the printed table, anomaly notes and the JSON results file.
import type { BrokerName } from './brokers.js';
import { type LoadResult, num } from './loadgen.js';
import type { Scenario } from './scenarios.js';

export interface RunRecord {
  scenario: string;
  broker: BrokerName;
  rep: number;
  result?: LoadResult;
  /** The generator was saturated while the broker was not: the figure is a lower bound only. */
  invalid?: boolean;
  error?: string;
  skipped?: string;
  notes: string[];
}

export interface SummaryRow {
  scenario: string;
  number: string;
  title: string;
  figure: string;
  unit: string;
  higherIsBetter: boolean;
  values: Partial<Record<BrokerName, number>>;
  /** Brokers whose median comes from invalid (generator-bound) runs only. */
  invalid: BrokerName[];
  culexOverMosquitto?: number;
  culexOverAedes?: number;
}

export function median(xs: readonly number[]): number | undefined {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : (v[mid - 1]! + v[mid]!) / 2;
}

export function summarize(
  scenarios: readonly Scenario[],
  brokers: readonly BrokerName[],
  runs: readonly RunRecord[],
) {
  const rows: SummaryRow[] = [];
  for (const s of scenarios) {
    for (const f of s.figures) {
      const row: SummaryRow = {
        scenario: s.id,
        number: s.number,
        title: s.title,
        figure: f.name,
        unit: f.unit,
        higherIsBetter: f.higherIsBetter,
        values: {},
        invalid: [],
      };
      for (const b of brokers) {
        const mine = runs.filter((r) => r.scenario === s.id && r.broker === b && r.result !== undefined);
        const valid = f.rateBound === false ? mine : mine.filter((r) => r.invalid !== true);
        const use = valid.length > 0 ? valid : mine;
        const m = median(use.map((r) => f.read(r.result!)));
        if (m !== undefined) row.values[b] = m;
        if (valid.length === 0 && mine.length > 0) row.invalid.push(b);
      }
      const c = row.values.culex;
      if (c !== undefined && row.values.mosquitto) row.culexOverMosquitto = c / row.values.mosquitto;
      if (c !== undefined && row.values.aedes) row.culexOverAedes = c / row.values.aedes;
      rows.push(row);
    }
  }
  return rows;
}

export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

const ratio = (v: number | undefined): string => (v === undefined ? '-' : `${v.toFixed(2)}x`);

/** A Markdown table: one row per scenario figure, medians per broker and Culex ratios. */
export function renderTable(rows: readonly SummaryRow[], runs: readonly RunRecord[]): string {
  const head = ['#', 'scenario', 'figure', 'Culex', 'Mosquitto', 'Aedes', 'Culex/Mosq', 'Culex/Aedes'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cell = (b: BrokerName): string => {
      const skipped = runs.find(
        (x) => x.scenario === r.scenario && x.broker === b && x.skipped !== undefined,
      );
      if (r.values[b] === undefined) return skipped ? 'skipped' : '-';
      return `${fmt(r.values[b])}${r.invalid.includes(b) ? ' (invalid)' : ''}`;
    };
    const better = r.higherIsBetter ? '↑' : '↓';
    lines.push(
      `| ${r.number} | ${r.title} | ${r.figure} (${r.unit}) ${better} | ${cell('culex')} | ${cell('mosquitto')} | ${cell('aedes')} | ${ratio(r.culexOverMosquitto)} | ${ratio(r.culexOverAedes)} |`,
    );
  }
  return lines.join('\n');
}

/** Loss, duplicates, disorder, disconnects, saturation and errors, one line per run that had any. */
export function anomalies(runs: readonly RunRecord[]): string[] {
  const out: string[] = [];
  for (const r of runs) {
    const tag = `${r.scenario} rep ${r.rep} ${r.broker}`;
    if (r.skipped !== undefined) out.push(`${tag}: skipped (${r.skipped})`);
    if (r.error !== undefined) out.push(`${tag}: error (${r.error})`);
    const res = r.result;
    if (res === undefined) continue;
    const issues: string[] = [...r.notes];
    const count = (key: string, label: string): void => {
      const v = num(res, key);
      if (Number.isFinite(v) && v > 0) issues.push(`${label} ${fmt(v)}`);
    };
    count('lost', 'lost');
    count('dups', 'duplicates');
    count('out_of_order', 'out-of-order');
    count('disconnects', 'unexpected disconnects');
    count('conn_failed', 'failed connects');
    count('failed', 'failed connects');
    count('sub_failed', 'failed subscribes');
    count('protocol_errors', 'protocol errors');
    count('inflight_left', 'unacknowledged at end');
    count('unexpected_closes', 'closed by the broker before DISCONNECT');
    // The generator's connect phase is bounded (30 s): per-connection figures then cover fewer clients.
    if ((res.mode === 'conns' || res.mode === 'churn') && num(res, 'ok') < num(res, 'conns')) {
      issues.push(`connected ${fmt(num(res, 'ok'))} of ${fmt(num(res, 'conns'))}`);
    }
    if (res.mode === 'pubsub' && num(res, 'expected') > 0 && num(res, 'lost') > 0) {
      issues.push(`(${((100 * num(res, 'lost')) / num(res, 'expected')).toFixed(2)} % of expected)`);
    }
    if (r.invalid === true) {
      issues.push(
        `INVALID: generator ${fmt(num(res, 'gen_cpu'))} % CPU, broker ${fmt(num(res, 'broker_cpu'))} %`,
      );
    }
    if (issues.length > 0) out.push(`${tag}: ${issues.join(', ')}`);
  }
  return out;
}

/** Median generator / broker CPU per scenario and broker (context for every figure). */
export function cpuLines(
  scenarios: readonly Scenario[],
  brokers: readonly BrokerName[],
  runs: readonly RunRecord[],
) {
  const out: string[] = [];
  for (const s of scenarios) {
    const parts: string[] = [];
    for (const b of brokers) {
      const rs = runs.filter((r) => r.scenario === s.id && r.broker === b && r.result !== undefined);
      if (rs.length === 0) continue;
      const g = median(rs.map((r) => num(r.result!, 'gen_cpu')));
      const k = median(rs.map((r) => num(r.result!, 'broker_cpu')));
      const rss = median(rs.map((r) => num(r.result!, 'broker_rss_peak_kb')));
      parts.push(
        `${b} gen ${fmt(g)} % / broker ${fmt(k)} %${rss !== undefined ? `, RSS ${fmt(rss / 1024)} MiB` : ''}`,
      );
    }
    if (parts.length > 0) out.push(`${s.number} ${s.id}: ${parts.join('; ')}`);
  }
  return out;
}
