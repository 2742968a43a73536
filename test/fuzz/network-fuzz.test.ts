// The network fuzzer, short: 2,000 mutated TCP and WebSocket connections against a real Culex process while
// well-behaved clients publish and receive; `npm run fuzz:net` runs the full 50,000.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { testSeed } from '../helpers/seed.js';
import { runNetworkFuzz } from './network-fuzz.js';

test('2,000 mutated connections: the broker stays up, RSS bounded, the good clients miss nothing', {
  timeout: 120_000,
}, async () => {
  const seed = testSeed('network fuzz');
  const r = await runNetworkFuzz({ connections: 2000, seed, rssLimitMb: 300 });
  console.log(
    `${r.connections} connections, ${r.perSecond.toFixed(0)}/s, peak RSS ${r.peakRssMb.toFixed(1)} MB, ` +
      `good: ${r.good.sent} sent, ${r.good.received} received`,
  );
  assert.deepEqual(r.failures, []);
  assert.equal(r.connections, 2000);
  assert.ok(r.good.sent >= 2 && r.good.received === 2 * r.good.sent);
});
