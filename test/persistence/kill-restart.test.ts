// Crash test of persistence with real processes: publish QoS 1 / 2 (and retained) messages under load to an
// offline persistent session, SIGKILL the broker at random moments (more than 20 times), restart it, and check
// that every message the broker acknowledged (PUBACK / PUBREC seen by the publisher) is delivered afterwards:
// QoS 1 at least once, QoS 2 exactly once, and retained state no older than the last acknowledged one.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  assertDelivered,
  collectAll,
  connect,
  killConf,
  killHard,
  killRepeatedly,
  type Ledger,
  startBroker,
  tally,
} from '../helpers/kill-load.js';
import { freePort, sleep } from '../helpers/net.js';
import { tempDir, writeConf } from '../helpers/processes.js';
import { seededRng } from '../helpers/seed.js';

/** When each kill lands; printed so that a failing order can be replayed. */
const rng = seededRng('kill-restart kill timing');

const KILLS = 22;
/** `persistence_sync full`: acknowledgements wait for an fsync on the threadpool (wal-sync.ts); fewer kills. */
const FULL_KILLS = 10;

test(
  'acknowledged QoS 1/2 messages and retained messages survive repeated SIGKILL under load',
  {
    timeout: 90_000,
  },
  () => survivesKills([], KILLS, 20),
);

test('with persistence_sync full too (the fsync off the event loop)', { timeout: 60_000 }, () =>
  survivesKills(['persistence_sync full'], FULL_KILLS, 9),
);

async function survivesKills(extra: string[], killCount: number, atLeast: number): Promise<void> {
  const dir = tempDir('culex-persist-');
  const port = await freePort();
  const conf = writeConf(
    dir,
    port,
    killConf(['persistence true', `persistence_location ${dir}`, 'user root', ...extra]),
  );
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };

  const kills = await killRepeatedly(conf, port, killCount, rng, ledger);
  assert.ok(kills >= atLeast);
  assert.ok(ledger.acked.size > 500, `only ${ledger.acked.size} messages acknowledged`);

  const broker = await startBroker(conf, port);
  try {
    const t = tally(ledger, await collectAll(port, 'durable', ledger, new Map(), 40_000));
    assertDelivered(t);

    // Retained: each topic holds the last acknowledged value or a later one that was in flight at a kill.
    const reader = await connect(port, { clientId: 'reader', clean: true });
    const retained = new Map<string, number>();
    reader.on('message', (topic, payload, packet) => {
      if (packet.retain) retained.set(topic, Number(payload.toString().split(':')[1]));
    });
    await reader.subscribeAsync('ret/#', { qos: 1 });
    await sleep(300);
    await reader.endAsync();
    for (const [topic, n] of ledger.retainedAcked) {
      const got = retained.get(topic);
      assert.ok(got !== undefined && got >= n, `retained ${topic}: have ${got}, acknowledged ${n}`);
    }
  } finally {
    await killHard(broker);
  }
}
