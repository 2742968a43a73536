// The Culex CLI (`culex -c FILE`) run for bench/scale.ts with an event-loop delay monitor, answering its parent
// over IPC: 'lag' (longest loop delay since the last reset, ms, then reset), 'heap' (writes a heap snapshot),
// 'gc' (a full collection first, so RSS figures do not depend on when V8 last collected).

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { main } from '../src/cli/main.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const started = performance.now();
const lag = monitorEventLoopDelay({ resolution: 5 });
lag.enable();

export type ScaleRequest = { id: number; cmd: 'lag' | 'gc' | 'heap' | 'mem'; dir?: string };
export type ScaleAnswer = {
  id: number;
  maxLagMs?: number;
  uptimeMs?: number;
  file?: string;
  /** 'mem': process.memoryUsage() in MiB, so RSS can be split into the V8 heap and the rest. */
  mem?: Record<string, number>;
};

process.on('message', (raw: unknown) => {
  const req = raw as ScaleRequest;
  const answer: ScaleAnswer = { id: req.id };
  if (req.cmd === 'lag') {
    answer.maxLagMs = lag.max / 1e6;
    answer.uptimeMs = performance.now() - started;
    lag.reset();
  } else if (req.cmd === 'gc') {
    for (let i = 0; i < 3; i++) gc();
  } else if (req.cmd === 'mem') {
    const usage = process.memoryUsage() as unknown as Record<string, number>;
    answer.mem = Object.fromEntries(
      Object.entries(usage).map(([k, v]) => [k, Math.round(v / 10485.76) / 100]),
    );
  } else if (req.cmd === 'heap') {
    answer.file = writeHeapSnapshot(`${req.dir ?? '.'}/culex-${process.pid}.heapsnapshot`);
  }
  process.send?.(answer);
});

main(process.argv.slice(2));
