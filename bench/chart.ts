// The side-by-side table of `npm run bench` as an SVG chart: one panel per scenario figure, one bar per broker.
// Vega-Lite compiles the spec and Vega renders it headless (renderer 'none'): no browser, no canvas needed.
// `node dist/bench/chart.js RESULTS.json [OUT.svg]` redraws the chart of an earlier run (docs/bench.svg).

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { BrokerName } from './brokers.js';
import { fmt, type SummaryRow } from './report.js';

/** The parts of a results file (run.ts) the chart reads. */
export interface ChartInput {
  date: string;
  settings: { durationS: number; reps: number };
  machine?: { node?: unknown; mosquitto?: unknown; aedes?: unknown; culexCommit?: unknown };
  summary: readonly SummaryRow[];
}

const BROKERS: readonly { id: BrokerName; label: string; colour: string }[] = [
  { id: 'culex', label: 'Culex', colour: '#2f7d4f' },
  { id: 'mosquitto', label: 'Mosquitto', colour: '#3b6ea8' },
  { id: 'aedes', label: 'Aedes', colour: '#c0813a' },
];

/** Longest scenario title shown above a panel, in characters. */
const TITLE_MAX = 42;

interface Bar {
  panel: string;
  broker: string;
  value: number;
  label: string;
}

/** One bar per (figure, broker) with a value; panels keep the table's order. */
function bars(rows: readonly SummaryRow[]): { values: Bar[]; panels: string[] } {
  const values: Bar[] = [];
  const panels: string[] = [];
  for (const r of rows) {
    // Two header lines (split by the header's labelExpr): the scenario, then the figure.
    const title = r.title.length > TITLE_MAX ? `${r.title.slice(0, TITLE_MAX - 1)}…` : r.title;
    const unit = r.unit === '/s' ? '' : ` (${r.unit})`;
    const panel = `${r.number} ${title}|${r.figure}${unit} ${r.higherIsBetter ? '↑' : '↓'}`;
    panels.push(panel);
    for (const b of BROKERS) {
      const v = r.values[b.id];
      if (v === undefined || !Number.isFinite(v)) continue;
      const invalid = r.invalid.includes(b.id) ? '*' : '';
      values.push({ panel, broker: b.label, value: v, label: `${fmt(v)}${invalid}` });
    }
  }
  return { values, panels };
}

/** The Vega-Lite spec: a faceted bar chart with an independent y scale per panel. */
export function chartSpec(input: ChartInput): TopLevelSpec {
  const { values, panels } = bars(input.summary);
  const m = input.machine ?? {};
  const who = [
    m.culexCommit && `Culex ${String(m.culexCommit)}`,
    m.mosquitto,
    m.aedes && `Aedes ${String(m.aedes)}`,
  ]
    .filter((x) => typeof x === 'string' && x !== '')
    .join(', ');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `npm run bench, ${input.date.slice(0, 16).replace('T', ' ')} UTC`,
      subtitle: [
        `medians of ${input.settings.reps} run(s) of ${input.settings.durationS} s; ↑ higher is better, ↓ lower is better; * generator-bound run (lower bound)`,
        ...(who !== '' ? [who] : []),
      ],
      anchor: 'start',
      fontSize: 15,
    },
    data: { values },
    facet: {
      field: 'panel',
      type: 'nominal',
      sort: panels,
      title: null,
      header: {
        labelFontSize: 11,
        labelLimit: 320,
        labelAnchor: 'start',
        labelExpr: "split(datum.value, '|')",
      },
    },
    columns: 4,
    // Laid out by the plots only: without a canvas Vega overestimates text widths, which would space panels apart.
    bounds: 'flush',
    spacing: { column: 50, row: 72 },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 230,
      height: 110,
      encoding: {
        x: {
          field: 'broker',
          type: 'nominal',
          sort: BROKERS.map((b) => b.label),
          scale: { domain: BROKERS.map((b) => b.label) },
          axis: { title: null, labelAngle: 0 },
        },
        y: {
          field: 'value',
          type: 'quantitative',
          axis: { title: null, format: '~s', tickCount: 4 },
          scale: { nice: true },
        },
      },
      layer: [
        {
          mark: { type: 'bar' },
          encoding: {
            color: {
              field: 'broker',
              type: 'nominal',
              scale: { domain: BROKERS.map((b) => b.label), range: BROKERS.map((b) => b.colour) },
              legend: null,
            },
          },
        },
        {
          mark: { type: 'text', dy: -5, fontSize: 10, baseline: 'bottom' },
          encoding: { text: { field: 'label', type: 'nominal' } },
        },
      ],
    },
    config: { view: { stroke: null }, font: 'sans-serif' },
  };
}

/** Renders the chart of a results file to SVG text. */
export async function renderChart(input: ChartInput): Promise<string> {
  const vg = compile(chartSpec(input)).spec;
  const view = new View(parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Writes the chart of `input` to `file`. */
export async function writeChart(input: ChartInput, file: string): Promise<void> {
  writeFileSync(file, await renderChart(input));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [src, out] = process.argv.slice(2);
  if (src === undefined) {
    console.error('usage: node dist/bench/chart.js RESULTS.json [OUT.svg]');
    process.exit(2);
  }
  const target = out ?? src.replace(/\.json$/, '.svg');
  writeChart(JSON.parse(readFileSync(src, 'utf8')) as ChartInput, target).then(
    () => console.log(`chart: ${target}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
