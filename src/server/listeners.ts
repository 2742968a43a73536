// Opens one configured listener with the right transport: TCP or Unix socket, TLS, or WebSocket (plain / TLS).

import type { Logger } from '../broker/logger.js';
import type { ConnectionHandler, Listener } from '../transport/listener.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import type { PskSource } from '../transport/psk-file.js';
import { openTcpListener } from '../transport/tcp-listener.js';
import { buildTlsServerSetup, type TlsServerSetup } from '../transport/tls-context.js';
import { openTlsListener } from '../transport/tls-listener.js';

export interface ListenerEnvironment {
  /** A TLS handshake or WebSocket upgrade still unfinished after this long is dropped. */
  handshakeTimeoutMs: number;
  /** Keys for a listener with psk_hint. */
  psk: PskSource | undefined;
  logger: Logger;
  /** Opens a `protocol http_api` listener (src/http); the broker passes it, a bare transport has none. */
  openHttpApi?: (tls: TlsServerSetup | undefined) => Promise<Listener[]>;
}

/** The bound sockets of one listener, and its TLS material (kept for a SIGHUP reload). */
export interface OpenedListener {
  listeners: Listener[];
  tls: TlsServerSetup | undefined;
}

export async function openListener(
  options: ListenerOptions,
  onConnection: ConnectionHandler,
  env: ListenerEnvironment,
): Promise<OpenedListener> {
  const onReject = (remote: string, why: string): void => {
    env.logger.log('notice', `Client connection from ${remote} failed: ${why}.`);
  };
  // Mosquitto's line for a connection over the listener's max_connections.
  const onDrop = (remote: string): void => {
    env.logger.log('notice', `Client connection from ${remote} denied: max_connections exceeded.`);
  };
  // Read and check the TLS material before binding, so a bad file fails the start with its name.
  const tlsSetup =
    options.tls === undefined ? undefined : buildTlsServerSetup(options.tls, env.psk, env.handshakeTimeoutMs);
  if (options.protocol === 'http_api') {
    if (env.openHttpApi === undefined) throw new Error('protocol http_api needs a broker to serve');
    return { listeners: await env.openHttpApi(tlsSetup), tls: tlsSetup };
  }
  if (options.protocol === 'websockets') {
    // Loaded on demand: `ws` and Node's HTTP stack add ~15 MiB of RSS to a broker that serves no WebSockets.
    const { openWebSocketListener } = await import('../transport/websocket-listener.js');
    const listeners = await openWebSocketListener(
      options,
      {
        ...(tlsSetup === undefined ? {} : { tls: tlsSetup }),
        handshakeTimeoutMs: env.handshakeTimeoutMs,
        onReject,
        onDrop,
      },
      onConnection,
    );
    return { listeners, tls: tlsSetup };
  }
  if (tlsSetup !== undefined && options.tls !== undefined) {
    const listeners = await openTlsListener(
      { ...options, tls: options.tls },
      tlsSetup,
      onConnection,
      onReject,
      onDrop,
    );
    return { listeners, tls: tlsSetup };
  }
  const proxy = { timeoutMs: env.handshakeTimeoutMs, log: (line: string) => env.logger.log('notice', line) };
  return {
    listeners: await openTcpListener(options, onConnection, undefined, proxy, onDrop),
    tls: undefined,
  };
}
