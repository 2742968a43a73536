// The bench chart writer (bench/chart.ts): a results file becomes a well-formed SVG with one bar per figure and
// broker. Not a timing test: it renders a fixed fixture.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ChartInput, chartSpec, renderChart } from '../../bench/chart.js';

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../test/bench/fixtures/results.json', import.meta.url)), 'utf8'),
) as ChartInput;

/** Every tag closed in order (a minimal well-formedness check; no XML parser ships with Node). */
function assertBalanced(svg: string): void {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, close, name, selfClose] = m;
    if (selfClose === '/') continue;
    if (close === '/') assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    else stack.push(name!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
}

test('the chart of a results file is one SVG document with every median as a labelled bar', async () => {
  const svg = await renderChart(fixture);
  assert.match(svg, /^<svg [^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(svg.trimEnd().endsWith('</svg>'));
  assertBalanced(svg);
  // One bar per (figure, broker) that has a value, and its median printed above it.
  let bars = 0;
  for (const row of fixture.summary) {
    for (const [broker, v] of Object.entries(row.values)) {
      bars++;
      const shown = v >= 1000 ? Math.round(v).toLocaleString('en-US') : String(v);
      const mark = row.invalid.includes(broker as never) ? '*' : '';
      assert.ok(svg.includes(`>${shown}${mark}<`), `label ${shown}${mark} of ${row.figure} / ${broker}`);
    }
  }
  const drawn = svg.match(/aria-roledescription="bar"/g)?.length ?? 0;
  assert.equal(drawn, bars);
  // A panel per figure, with its direction.
  for (const row of fixture.summary) assert.ok(svg.includes(`${row.figure}`), row.figure);
});

test('the spec gives every panel its own y scale (figures differ by orders of magnitude)', () => {
  const spec = chartSpec(fixture) as { resolve?: { scale?: { y?: string } } };
  assert.equal(spec.resolve?.scale?.y, 'independent');
});
