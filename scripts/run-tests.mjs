// Runs node's built-in test runner over the compiled tests (dist/test/**/*.test.js).
// Node 20's --test does not expand globs, so the file list is built here. Besides the usual report on stdout, a
// TAP copy goes to a temporary file, read at the end to list every skipped test with its reason: node's own
// summary only counts them.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

/** `ok N - name # SKIP reason` lines of a TAP report (nested subtests are indented). */
function skippedTests(tap) {
  const skipped = [];
  for (const line of tap.split('\n')) {
    const m = /^\s*ok \d+ - (.*?) # SKIP(?:\s+(.*))?$/.exec(line);
    if (m !== null)
      skipped.push({ name: m[1], reason: m[2] === undefined || m[2] === '' ? 'no reason given' : m[2] });
  }
  return skipped;
}

/**
 * `not ok N - name` lines of a TAP report with the first lines of their YAML block (error, location), so that the
 * tail of a long CI log still says which tests failed and why. A file-level failure lists its file's name.
 */
function failedTests(tap) {
  const failed = [];
  const lines = tap.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]);
    if (m === null) continue;
    const detail = [];
    let inError = false;
    for (let j = i + 1; j < lines.length && j < i + 60 && detail.length < 8; j++) {
      const line = lines[j].trim();
      if (line === '...' || line.startsWith('stack:')) break;
      if (line === '') continue;
      if (/^(location|error|code|expected|actual):/.test(line)) {
        inError = line.startsWith('error:');
        detail.push(line.slice(0, 300));
      } else if (inError && !/^\w+:/.test(line)) detail.push(`  ${line.slice(0, 300)}`);
      else inError = false;
    }
    failed.push({ depth: m[1].length, name: m[2], detail });
  }
  return failed;
}

const filter = process.argv.slice(2);
let files = collect('dist/test', []).sort();
if (filter.length > 0) files = files.filter((f) => filter.some((p) => f.includes(p)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), 'culex-tests-'));
const tapCopy = join(dir, 'report.tap');
const reporter = process.stdout.isTTY ? 'spec' : 'tap';
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=2',
    '--test-timeout=180000',
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapCopy}`,
    ...files,
  ],
  { stdio: 'inherit' },
);
/** node's closing counts (`# pass N` ...) at the end of the TAP report. */
function count(tap, name) {
  const m = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap);
  return m === null ? 0 : Number(m[1]);
}

let tap = '';
try {
  tap = readFileSync(tapCopy, 'utf8');
} catch {
  // no report (the runner could not start): its own error is on stderr already
}
rmSync(dir, { recursive: true, force: true });
const skipped = skippedTests(tap);
if (skipped.length > 0) {
  const reasons = new Map();
  for (const s of skipped) reasons.set(s.reason, [...(reasons.get(s.reason) ?? []), s.name]);
  console.log('# Skipped tests, by reason:');
  for (const [reason, names] of reasons) console.log(`#   ${reason} (${names.length}): ${names.join('; ')}`);
}
const failed = failedTests(tap);
if (failed.length > 0) {
  console.log('# Failed tests:');
  for (const f of failed) {
    console.log(`#   ${'  '.repeat(f.depth / 4)}not ok - ${f.name}`);
    for (const d of f.detail) console.log(`#       ${d}`);
  }
}
// The plain closing line, with node's counts (skipped ones included, whatever their nesting).
console.log(`tests: ${count(tap, 'pass')} passed, ${count(tap, 'fail')} failed, ${skipped.length} skipped`);
process.exit(result.status ?? 1);
