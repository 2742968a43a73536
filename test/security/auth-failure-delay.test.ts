// Culex-only auth_failure_delay: failed logins from one address are answered ever more slowly (capped), while
// other clients, and the event loop, go on at full speed. Off by default, as in Mosquitto.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthFailureDelay } from '../../src/broker/auth-failure-delay.js';
import { parseConfigText } from '../../src/config/parse.js';
import type { BrokerInit } from '../../src/index.js';
import { startBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';

const hooks: BrokerInit['hooks'] = {
  authenticate: (req) => req.username === 'alice' && req.password?.toString() === 'right',
};

/** Wrong-password logins answered in `ms`, one after the other as a guessing client does. */
async function refusalsIn(port: number, ms: number): Promise<number> {
  const end = Date.now() + ms;
  let refused = 0;
  while (Date.now() < end) {
    const { client, connack } = await RawClient.connect(port, {
      username: 'alice',
      password: `guess${refused}`,
    });
    assert.notEqual(connack.reasonCode, 0);
    refused++;
    client.socket.destroy();
  }
  return refused;
}

test('auth_failure_delay: off by default, guesses are answered at once; on, they slow to the cap', async () => {
  const plain = await startBroker({ hooks });
  const slowed = await startBroker({ hooks, options: { authFailureDelay: 10, authFailureDelayMax: 40 } });
  try {
    const fast = await refusalsIn(plain.port, 500);
    const slow = await refusalsIn(slowed.port, 500);
    console.log(`refusals in 500 ms: ${fast} without auth_failure_delay, ${slow} with 10..40 ms`);
    assert.ok(fast >= 100, `only ${fast} refusals without the option`);
    // 10 + 20 + 40 + 40 ... ms: at most 14 answers fit in 500 ms.
    assert.ok(slow <= 15, `${slow} refusals with the option`);
    assert.ok(slow >= 3, `${slow}: the refusals still come`);
  } finally {
    await Promise.all([plain.stop(), slowed.stop()]);
  }
});

test('auth_failure_delay: a held refusal blocks neither other clients nor the event loop', async () => {
  const b = await startBroker({ hooks, options: { authFailureDelay: 400, authFailureDelayMax: 400 } });
  try {
    const started = Date.now();
    const guess = RawClient.connect(b.port, { username: 'alice', password: 'wrong' });
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    const { client, connack } = await RawClient.connect(b.port, { username: 'alice', password: 'right' });
    assert.equal(connack.reasonCode, 0);
    assert.ok(Date.now() - t0 < 200, 'a good login waited for the held refusal');
    client.socket.destroy();
    const anonymous = await RawClient.connect(b.port, {});
    assert.equal(anonymous.connack.reasonCode, 0);
    anonymous.client.socket.destroy();
    const refused = await guess;
    assert.notEqual(refused.connack.reasonCode, 0);
    assert.ok(Date.now() - started >= 380, 'the failed login was answered before its delay');
    await refused.client.closed;
  } finally {
    await b.stop();
  }
});

test('auth_failure_delay: doubling, cap, reset by a success or a quiet period, bounded address table', () => {
  const d = new AuthFailureDelay(100, 350, 3);
  assert.deepEqual(
    [0, 1, 2, 3].map((i) => d.failed('a', i)),
    [100, 200, 350, 350],
  );
  d.succeeded('a');
  assert.equal(d.failed('a', 10), 100);
  // Quiet for more than 2 x the cap: forgotten.
  assert.equal(d.failed('a', 11), 200);
  assert.equal(d.failed('a', 11 + 701), 100);
  for (const addr of ['b', 'c', 'd', 'e']) d.failed(addr, 800);
  assert.equal(d.size, 3, 'the table holds at most its capacity');
  assert.equal(d.failed('a', 801), 100, 'the least recently failed address was dropped');
  assert.equal(new AuthFailureDelay(0, 5000).enabled, false);
});

test('auth_failure_delay / auth_failure_delay_max in mosquitto.conf', () => {
  const c = parseConfigText('auth_failure_delay 250\nauth_failure_delay_max 8000\n', 'a.conf');
  assert.equal(c.broker.authFailureDelay, 250);
  assert.equal(c.broker.authFailureDelayMax, 8000);
  assert.equal(parseConfigText('', 'b.conf').broker.authFailureDelay, 0);
  assert.throws(() => parseConfigText('auth_failure_delay -1\n', 'c.conf'), /out of range/);
});
