// WebSocket listeners (`protocol websockets`), plain or over TLS: MQTT in binary frames with the "mqtt"
// subprotocol, and the listener's http_dir served to ordinary HTTP requests on the same port.

import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { bindServers } from './bind-servers.js';
import { tlsUsername } from './certificate-identity.js';
import type { ConnectionHandler, Listener } from './listener.js';
import type { ListenerOptions } from './listener-options.js';
import { acceptedPeerAddress } from './socket-internals.js';
import { serveStatic } from './static-files.js';
import { type DropHandler, peerAddress } from './tcp-listener.js';
import type { TlsServerSetup } from './tls-context.js';
import { revocationFailure, type TlsRejectHandler } from './tls-listener.js';
import { WebSocketDuplex } from './websocket-stream.js';
import { PreConnackGuard } from './ws-preconnack-guard.js';

/** Subprotocols we speak, preferred first: "mqtt" (3.1.1 and 5.0) and the 3.1-era "mqttv3.1". */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

/** Largest MQTT packet (256 MiB remaining length plus fixed header): a bigger WebSocket message is refused. */
const MAX_MESSAGE_BYTES = 268_435_455 + 5;

export interface WebSocketListenerSetup {
  /** Present for WebSocket over TLS ("wss"). */
  tls?: TlsServerSetup;
  /** How long an HTTP upgrade (and TLS handshake) may take before the socket is dropped. */
  handshakeTimeoutMs: number;
  onReject: TlsRejectHandler;
  /** A connection over `max_connections`, reset by Node. */
  onDrop?: DropHandler;
}

function chooseProtocol(offered: Set<string>): string | false {
  for (const p of SUBPROTOCOLS) if (offered.has(p)) return p;
  return false;
}

/** Bytes that are not HTTP (or headers over websockets_headers_size) get a status line and a close, not a crash. */
function answerBadRequest(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const status =
    err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

export function openWebSocketListener(
  options: ListenerOptions,
  setup: WebSocketListenerSetup,
  onConnection: ConnectionHandler,
): Promise<Listener[]> {
  const fallbackAddress = options.unixSocketPath ?? 'unix';
  const tls = setup.tls;
  const serverOptions = {
    noDelay: options.setTcpNodelay,
    // 0 / unset: Node's default (16 KiB) rather than libwebsockets' 1 KiB, which browsers with cookies overrun.
    ...(options.websocketsHeadersSize ? { maxHeaderSize: options.websocketsHeadersSize } : {}),
    headersTimeout: setup.handshakeTimeoutMs,
    requestTimeout: setup.handshakeTimeoutMs,
    connectionsCheckingInterval: Math.min(1000, setup.handshakeTimeoutMs),
  };

  const accept = (ws: import('ws').WebSocket, req: IncomingMessage): void => {
    const socket = req.socket as Socket;
    // From the handle: socket.remoteAddress would cache an object and a string on every socket.
    const remote = acceptedPeerAddress(socket, fallbackAddress);
    let username: string | null | undefined;
    if (tls !== undefined && options.tls !== undefined) {
      // null (no usable identity) is refused at CONNECT with CONNACK 4 / 0x86, as Mosquitto does.
      username = tlsUsername(socket as TLSSocket, options.tls, tls.pskIdentities.get(socket as TLSSocket));
    }
    const guard = new PreConnackGuard(socket, (why) => setup.onReject(remote, why));
    onConnection(new WebSocketDuplex(ws, () => guard.release()), remote, username);
  };

  return bindServers(
    options,
    () => {
      const onRequest = (req: IncomingMessage, res: import('node:http').ServerResponse): void =>
        serveStatic(options.httpDir, req, res);
      const secure =
        tls === undefined ? undefined : createHttpsServer({ ...tls.options, ...serverOptions }, onRequest);
      const server: HttpServer = secure ?? createHttpServer(serverOptions, onRequest);
      const wss = new WebSocketServer({
        noServer: true,
        handleProtocols: chooseProtocol,
        maxPayload: MAX_MESSAGE_BYTES,
        perMessageDeflate: false,
        clientTracking: true,
      });
      server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
        // A shared listener, not a closure: one here would keep this handler's scope, `req` with all its
        // headers included, alive for as long as the connection (~1.5 KiB per idle WebSocket client).
        socket.on('error', destroyOnError);
        // Mosquitto 2.1 `websockets_origin`: only browsers from the listed origins may open the socket.
        const origins = options.websocketsOrigins;
        if (origins !== undefined && !origins.includes(req.headers.origin ?? '')) {
          socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => accept(ws, req));
      });
      server.on('clientError', answerBadRequest);
      if (tls !== undefined && secure !== undefined) {
        tls.servers.add(secure);
        secure.once('close', () => tls.servers.delete(secure));
        // Before the HTTP parser sees a byte: a revoked client certificate never reaches the upgrade.
        secure.prependListener('secureConnection', (socket: TLSSocket) => {
          const revoked = revocationFailure(socket, tls);
          if (revoked === undefined) return;
          setup.onReject(peerAddress(socket, fallbackAddress), revoked);
          socket.destroy();
        });
        server.on('tlsClientError', (err: Error, socket: TLSSocket) => {
          setup.onReject(peerAddress(socket, fallbackAddress), err.message);
          socket.destroy();
        });
      }
      // The broker says goodbye to its clients itself (MQTT 5 DISCONNECT); whatever is left later is cut.
      const close = (): void => {
        wss.close();
        server.closeIdleConnections();
        const timer = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
          server.closeAllConnections();
        }, 3000);
        timer.unref();
        server.once('close', () => clearTimeout(timer));
      };
      return { server, close };
    },
    'websockets',
    setup.onDrop,
  );
}
