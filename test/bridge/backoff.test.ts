// restart_timeout: a constant delay, or Decorrelated Jitter that stays within [base, cap] and starts again
// from the base after a successful connection.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartDelay } from '../../src/bridge/backoff.js';

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

test('constant restart_timeout waits the same every time', () => {
  const d = new RestartDelay({ kind: 'constant', seconds: 20 });
  assert.deepEqual([d.next(), d.next(), d.next()], [20_000, 20_000, 20_000]);
});

test('decorrelated jitter: within base and cap, growing, never a tight loop', () => {
  const seed = 12345;
  console.log(`seed ${seed}`);
  const d = new RestartDelay({ kind: 'jitter', base: 5, cap: 30 }, seeded(seed));
  const delays = Array.from({ length: 200 }, () => d.next());
  assert.ok(
    delays.every((ms) => ms >= 5000 && ms <= 30_000),
    JSON.stringify(delays.slice(0, 20)),
  );
  assert.ok(Math.max(...delays) > 20_000, 'grows towards the cap');
  assert.ok(new Set(delays).size > 50, 'jittered, not constant');
  const low = new RestartDelay({ kind: 'jitter', base: 5, cap: 30 }, () => 0);
  assert.deepEqual([low.next(), low.next()], [5000, 5000]);
  const high = new RestartDelay({ kind: 'jitter', base: 5, cap: 30 }, () => 0.999999);
  assert.deepEqual(
    [high.next(), high.next(), high.next()].map((ms) => Math.round(ms / 1000)),
    [15, 30, 30],
  );
  high.reset();
  assert.equal(Math.round(high.next() / 1000), 15);
});
