// CPU cost of the SQLite store per durable QoS 1 delivery, without network or broker: per "turn", K new
// deliveries (one persistent subscriber each), the previous turn's K removed, one commit; as the broker does
// under the persist-on scenario. `node dist/bench/store-cost.js [K=60] [turns=3000] [normal|full]`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Message } from '../src/broker/message.js';
import type { Delivery } from '../src/broker/session.js';
import { SqliteStore } from '../src/persistence/sqlite-store.js';

const k = Number(process.argv[2] ?? 60);
const turns = Number(process.argv[3] ?? 3000);
const sync = process.argv[4] === 'full' ? 'full' : 'normal';
const dir = mkdtempSync(join(tmpdir(), 'culex-store-cost-'));
const store = new SqliteStore(join(dir, 's.db'), { synchronous: sync });
store.load(Date.now());
for (let c = 0; c < 10; c++)
  store.saveSession({ clientId: `c${c}`, expiryInterval: 0xffffffff, disconnectedAt: 0 });
store.commit();
const payload = Buffer.alloc(64, 7);
let id = 0;
let seq = 0;
let previous: Delivery[] = [];

async function run(n: number): Promise<void> {
  for (let t = 0; t < n; t++) {
    const current: Delivery[] = [];
    for (let i = 0; i < k; i++) {
      const m = new Message(`bench/t/${i % 10}`, payload, 1, false, undefined, `p${i % 10}`, 0);
      m.id = ++id;
      const d: Delivery = {
        message: m,
        qos: 1,
        retain: false,
        subscriptionIds: undefined,
        packetId: (i % 100) + 1,
        released: false,
        seq: ++seq,
      };
      store.addDelivery(`c${i % 10}`, d);
      current.push(d);
    }
    for (const d of previous) store.removeDelivery(d);
    // `full`: one fsync per commit, waited for as the broker's acknowledgements wait.
    await store.commit();
    previous = current;
  }
}

await run(300); // warm-up
const before = process.cpuUsage();
await run(turns);
const used = process.cpuUsage(before);
const n = turns * k;
console.log(
  `store cost, ${k} deliveries per commit, synchronous=${sync}: ${((used.user + used.system) / n).toFixed(2)} µs CPU ` +
    `per delivery (user ${(used.user / n).toFixed(2)}, system ${(used.system / n).toFixed(2)})`,
);
store.close();
rmSync(dir, { recursive: true, force: true });
