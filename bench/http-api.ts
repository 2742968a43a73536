// Cost of the HTTP API with many sessions: an in-process broker holding 100,000 (empty, offline) sessions, then
// five requests per endpoint, median and max. `npm run build && node dist/bench/http-api.js [sessions]`.

import type { BrokerCore } from '../src/broker/broker-core.js';
import { Session } from '../src/broker/session.js';
import { Broker } from '../src/index.js';

const sessions = Number(process.argv[2] ?? 100_000);
const broker = new Broker({ options: { connectionMessages: false, allowAnonymous: true } });
const [, http] = await broker.listen([
  { port: 0, host: '127.0.0.1' },
  { port: 0, host: '127.0.0.1', protocol: 'http_api' },
]);
// The core's session registry; `internals` once Broker holds the core instead of being it.
const core = (
  'internals' in broker ? (broker as unknown as { internals: BrokerCore }).internals : broker
) as BrokerCore;
for (let i = 0; i < sessions; i++) core.sessions.set(`client-${i}`, new Session(`client-${i}`));

async function time(path: string): Promise<void> {
  const runs: number[] = [];
  let size = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    const res = await fetch(`http://127.0.0.1:${http!.port}${path}`);
    size = (await res.text()).length;
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  runs.sort((a, b) => a - b);
  console.log(`${path}: median ${runs[2]!.toFixed(1)} ms, max ${runs[4]!.toFixed(1)} ms, ${size} bytes`);
}

console.log(`${sessions} sessions`);
await time('/api/culex/v1/clients?limit=100');
await time(`/api/culex/v1/clients?limit=100&offset=${Math.max(0, sessions - 100)}`);
await time(`/api/culex/v1/clients?search=client-${sessions - 1}`);
await time('/metrics');
await time('/api/v1/systree');
await broker.stop();
