// Cost of the HTTP API with many sessions: an in-process broker holding 100,000 (offline) sessions with one
// subscription each, then five requests per endpoint: CPU time, and wall-clock min, median and max. `npm run build && node dist/bench/http-api.js
// [sessions]`.

import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrokerCore } from '../src/broker/broker-core.js';
import { Session } from '../src/broker/session.js';
import { Broker } from '../src/index.js';

const sessions = Number(process.argv[2] ?? 100_000);
const token = 'bench-admin-token-0123456789';
const tokenFile = join(tmpdir(), `culex-bench-tokens-${process.pid}`);
writeFileSync(tokenFile, `${token} admin bench\n`);
const broker = new Broker({ options: { connectionMessages: false, allowAnonymous: true } });
const [, http] = await broker.listen([
  { port: 0, host: '127.0.0.1' },
  { port: 0, host: '127.0.0.1', protocol: 'http_api', httpApiTokenFile: tokenFile },
]);
// The core's session registry; `internals` once Broker holds the core instead of being it.
const core = (
  'internals' in broker ? (broker as unknown as { internals: BrokerCore }).internals : broker
) as BrokerCore;
for (let i = 0; i < sessions; i++) {
  const session = new Session(`client-${i}`);
  session.expiryInterval = 3600;
  session.disconnectedAt = Date.now();
  const filter = `devices/client-${i}/cmd`;
  session.subscriptions.set(filter, {
    session,
    filter,
    matchFilter: filter,
    shareGroup: undefined,
    qos: 1,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    identifier: 0,
  });
  core.sessions.set(session.clientId, session);
}

async function time(path: string, method = 'GET'): Promise<void> {
  const runs: number[] = [];
  const cpu: number[] = [];
  let size = 0;
  for (let i = 0; i < 5; i++) {
    const started = process.hrtime.bigint();
    const cpuStarted = process.cpuUsage();
    const res = await fetch(`http://127.0.0.1:${http!.port}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}` },
    });
    size = (await res.text()).length;
    const used = process.cpuUsage(cpuStarted);
    cpu.push((used.user + used.system) / 1000);
    runs.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  runs.sort((a, b) => a - b);
  cpu.sort((a, b) => a - b);
  // CPU time (client and server share the process) is the steadier figure on a loaded machine; wall-clock
  // min / median / max show the noise.
  console.log(
    `${method} ${path}: CPU median ${cpu[2]!.toFixed(1)} ms; wall min ${runs[0]!.toFixed(1)} / median ${runs[2]!.toFixed(1)} / max ${runs[4]!.toFixed(1)} ms; ${size} bytes`,
  );
}

const last = sessions - 1;
console.log(`${sessions} sessions, one subscription each`);
await time('/api/culex/v1/clients?limit=100');
await time(`/api/culex/v1/clients?limit=100&offset=${Math.max(0, sessions - 100)}`);
await time(`/api/culex/v1/clients?search=client-${last}`);
await time('/api/culex/v1/sessions?limit=100');
await time(`/api/culex/v1/sessions?state=offline&limit=100&offset=${Math.max(0, sessions - 100)}`);
await time('/api/culex/v1/subscriptions?limit=100');
await time(`/api/culex/v1/subscriptions?limit=100&offset=${Math.max(0, sessions - 100)}`);
await time(`/api/culex/v1/subscriptions?filter=devices/client-${last}/%23`);
await time(`/api/culex/v1/subscriptions?topic=devices/client-${last}/cmd`);
await time(`/api/culex/v1/sessions/client-${last}/queue`, 'DELETE');
await time('/api/culex/v1/listeners');
await time('/metrics');
await time('/api/v1/systree');
await broker.stop();
rmSync(tokenFile);
