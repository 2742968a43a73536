// Aedes reference broker for the benchmark: defaults, plain TCP on 127.0.0.1:<port given as argv[2]>.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node aedes-server.js PORT\n');
  process.exit(2);
}

const broker = new Aedes();
await broker.listen();
// BENCH_NODELAY=1: TCP_NODELAY, for the latency comparison where every broker runs with it.
const server = createServer({ noDelay: process.env.BENCH_NODELAY === '1' }, broker.handle);
server.listen(port, '127.0.0.1');

// Stop cleanly on SIGTERM so the benchmark can start the next run on a quiet core.
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
