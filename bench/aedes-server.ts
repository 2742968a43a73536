// Aedes reference broker for the benchmark: defaults, on 127.0.0.1:<port given as argv[2]>; plain TCP, or
// `tls CERT KEY` (TLS), or `ws` (MQTT over WebSocket through `ws`, as Aedes' documentation shows).
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';

const [portText, transport, certfile, keyfile] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  process.stderr.write('usage: node aedes-server.js PORT [tls CERT KEY | ws]\n');
  process.exit(2);
}

const broker = new Aedes();
await broker.listen();
// BENCH_NODELAY=1: TCP_NODELAY, for the latency comparison where every broker runs with it.
const noDelay = process.env.BENCH_NODELAY === '1';
let server: Server;
if (transport === 'tls' && certfile !== undefined && keyfile !== undefined) {
  server = createTlsServer(
    { cert: readFileSync(certfile), key: readFileSync(keyfile), noDelay },
    broker.handle,
  );
} else if (transport === 'ws') {
  const http = createHttpServer({ noDelay });
  server = http;
  const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
  wss.on('connection', (ws, req) => broker.handle(createWebSocketStream(ws), req));
} else {
  server = createServer({ noDelay }, broker.handle);
}
server.listen(port, '127.0.0.1');

// Stop cleanly on SIGTERM so the benchmark can start the next run on a quiet core.
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
