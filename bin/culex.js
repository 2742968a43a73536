#!/usr/bin/env -S node --max-semi-space-size=2
// A small young generation keeps the broker's RSS low under load at no measurable cost in throughput
// (docs/performance.md); `node bin/culex.js` without the flag works too, with a larger heap.
import { setFlagsFromString } from 'node:v8';

// Garbage kept in the old generation is bounded by 20 % of what is live (V8's own minimum step of 8 MiB still
// applies) instead of up to 4x, and an idle broker gives freed heap back after 2 s instead of 8 s: after a burst
// of short-lived clients the RSS comes back to the idle figure (docs/performance.md, 2026-12-02). Both are read
// by V8 at run time, so they are set here and apply however the broker is started.
setFlagsFromString('--heap-growing-percent=20');
setFlagsFromString('--gc-memory-reducer-start-delay-ms=2000');

// glibc raises its trim threshold to twice the size of the largest mmap'd block it has freed (mallopt(3)): one
// 16 MiB block, dropped at once and freed by V8's next collection, stops it from giving back (and faulting in
// again) the heap top that each bulk free of 64 KiB read buffers leaves (docs/performance.md, 64 KiB payloads).
Buffer.allocUnsafeSlow(16 * 1024 * 1024);

const { main } = await import('../dist/src/cli/main.js');
main(process.argv.slice(2));
