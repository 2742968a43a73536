// Persistent QoS 1 throughput with persistence on and off (not a test; run by hand):
//   node dist/test/persistence/bench-qos1.js [seconds=5] [publishers=4]
// One persistent subscriber (clean session 0, QoS 1) receives what several QoS 1 publishers send, each keeping
// 100 messages outstanding, against `culex -c conf` child processes; prints messages/s acknowledged end to end.

import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { canConnect, freePort, sleep } from '../helpers/net.js';
import { CULEX_BIN, tempDir } from '../helpers/processes.js';

const seconds = Number(process.argv[2] ?? 5);
const publishers = Number(process.argv[3] ?? 4);

async function run(persistence: boolean): Promise<{ published: number; received: number }> {
  const dir = tempDir('culex-bench-');
  const port = await freePort();
  const conf = join(dir, 'c.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'max_queued_messages 0',
    'log_type error',
  ];
  if (persistence) lines.push('persistence true', `persistence_location ${dir}`, 'user root');
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const child: ChildProcess = spawn(process.execPath, [CULEX_BIN, '-c', conf], { stdio: 'inherit' });
  while (!(await canConnect(port))) await sleep(20);
  const sub = await mqtt.connectAsync({ port, clientId: 'bench-sub', clean: false });
  await sub.subscribeAsync('bench/#', { qos: 1 });
  let received = 0;
  sub.on('message', () => received++);
  let published = 0;
  let running = true;
  const payload = Buffer.alloc(64, 'x');
  const pubs = await Promise.all(
    Array.from({ length: publishers }, (_, i) => mqtt.connectAsync({ port, clientId: `bench-pub-${i}` })),
  );
  for (const [i, p] of pubs.entries()) {
    let outstanding = 0;
    const pump = (): void => {
      while (running && outstanding < 100) {
        outstanding++;
        p.publish(`bench/${i}`, payload, { qos: 1 }, () => {
          outstanding--;
          published++;
          if (running) setImmediate(pump);
        });
      }
    };
    pump();
  }
  await sleep(1000); // warm-up
  const p0 = published;
  const r0 = received;
  await sleep(seconds * 1000);
  running = false;
  const result = { published: (published - p0) / seconds, received: (received - r0) / seconds };
  await Promise.all([...pubs, sub].map((c) => c.endAsync(true)));
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  return result;
}

for (const persistence of [false, true]) {
  const r = await run(persistence);
  process.stdout.write(
    `persistence ${persistence ? 'on ' : 'off'}: ${Math.round(r.published)} QoS 1 msg/s acknowledged to publishers, ${Math.round(r.received)} msg/s delivered to the persistent subscriber\n`,
  );
}
