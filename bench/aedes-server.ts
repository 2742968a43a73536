// Aedes reference broker for the benchmark: defaults, on 127.0.0.1:<port given as argv[2]>; plain TCP, or
// `tls CERT KEY` (TLS), or `ws` (MQTT over WebSocket through `ws`, as Aedes' documentation shows).
// For the cluster benchmark (bench/cluster.ts): BENCH_AEDES_REDIS=redis://… gives it Aedes' own Redis cluster
// parts (mqemitter-redis + aedes-persistence-redis), and BENCH_AEDES_WORKERS=N runs N such processes on the one
// port through node:cluster, as Culex's `workers N` does.
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AedesOptions } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';

const [portText, transport, certfile, keyfile] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node aedes-server.js PORT [tls CERT KEY | ws]\n');
  process.exit(2);
}

const redisUrl = process.env.BENCH_AEDES_REDIS;
const workers = Number(process.env.BENCH_AEDES_WORKERS ?? '1');

/** Aedes' Redis emitter and persistence (CommonJS factories; aedes-persistence-redis ships no types). */
function redisParts(url: string): AedesOptions {
  const require = createRequire(import.meta.url);
  type Factory = (opts: Record<string, unknown>) => unknown;
  const mqemitterRedis = require('mqemitter-redis') as Factory;
  const persistenceRedis = require('aedes-persistence-redis') as Factory;
  const { hostname, port: redisPort } = new URL(url);
  return {
    mq: mqemitterRedis({ connectionString: url }),
    persistence: persistenceRedis({ host: hostname, port: Number(redisPort) }),
  };
}

function listen(broker: Aedes): Server {
  // BENCH_NODELAY=1: TCP_NODELAY, for the latency comparison where every broker runs with it.
  const noDelay = process.env.BENCH_NODELAY === '1';
  if (transport === 'tls' && certfile !== undefined && keyfile !== undefined)
    return createTlsServer(
      { cert: readFileSync(certfile), key: readFileSync(keyfile), noDelay },
      broker.handle,
    );
  if (transport === 'ws') {
    const http = createHttpServer({ noDelay });
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    wss.on('connection', (ws, req) => broker.handle(createWebSocketStream(ws), req));
    return http;
  }
  return createServer({ noDelay }, broker.handle);
}

if (cluster.isPrimary && workers > 1) {
  let ready = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', () => {
      if (++ready === workers) process.stderr.write('aedes running\n');
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 1500).unref();
  });
  cluster.on('exit', () => {
    if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
  });
} else {
  const broker = new Aedes(redisUrl === undefined ? {} : redisParts(redisUrl));
  await broker.listen();
  const server = listen(broker);
  // "aedes running" tells the benchmark every process listens (the cluster primary says it for its workers).
  server.listen(port, '127.0.0.1', () => {
    if (cluster.isWorker) process.send?.('ready');
    else process.stderr.write('aedes running\n');
  });

  // Stop cleanly on SIGTERM so the benchmark can start the next run on a quiet core.
  process.on('SIGTERM', () => {
    server.close();
    broker.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  });
}
