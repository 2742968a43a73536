// The Culex CLI (`culex -c FILE`) run for bench/scale.ts with an event-loop delay monitor, answering its parent
// over IPC: 'lag' (longest loop delay since the last reset, ms, then reset), 'heap' (writes a heap snapshot),
// 'gc' (a full collection first, so RSS figures do not depend on when V8 last collected).

import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString, writeHeapSnapshot } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { main } from '../src/cli/main.js';

setFlagsFromString('--expose-gc');
// The heap settings bin/culex.js gives the broker (set after the modules load here, as there: V8 reads them as it
// runs), so that the figures are those of `culex` as installed.
setFlagsFromString('--heap-growing-percent=20');
setFlagsFromString('--gc-memory-reducer-start-delay-ms=2000');
Buffer.allocUnsafeSlow(16 * 1024 * 1024); // and its glibc trim threshold (see there)
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

/** RSS split by mapping kind from /proc/self/smaps: the node binary's pages, malloc's brk heap, other anonymous. */
function rssByKind(): Record<string, number> {
  const out = { rssBinary: 0, rssBrk: 0, rssAnon: 0, rssOtherFiles: 0 };
  let kind: keyof typeof out = 'rssAnon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1] ?? '';
      kind =
        name === ''
          ? 'rssAnon'
          : name === '[heap]'
            ? 'rssBrk'
            : name === process.execPath
              ? 'rssBinary'
              : 'rssOtherFiles';
      continue;
    }
    const rss = /^Rss:\s+(\d+)/.exec(line);
    if (rss !== null) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
}

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
      Object.entries({ ...usage, ...rssByKind() }).map(([k, v]) => [k, Math.round(v / 10485.76) / 100]),
    );
  } else if (req.cmd === 'heap') {
    answer.file = writeHeapSnapshot(`${req.dir ?? '.'}/culex-${process.pid}.heapsnapshot`);
  }
  process.send?.(answer);
});

main(process.argv.slice(2));
