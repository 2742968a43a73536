// Opens one configured listener with the right transport: TCP or Unix socket, TLS, or WebSocket (plain / TLS).

import type { Logger } from '../broker/logger.js';
import type { ConnectionHandler, Listener } from '../transport/listener.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import type { PskSource } from '../transport/psk-file.js';
import { openTcpListener } from '../transport/tcp-listener.js';
import { buildTlsServerSetup } from '../transport/tls-context.js';
import { openTlsListener } from '../transport/tls-listener.js';

export interface ListenerEnvironment {
  /** A TLS handshake or WebSocket upgrade still unfinished after this long is dropped. */
  handshakeTimeoutMs: number;
  /** Keys for a listener with psk_hint. */
  psk: PskSource | undefined;
  logger: Logger;
}

export async function openListener(
  options: ListenerOptions,
  onConnection: ConnectionHandler,
  env: ListenerEnvironment,
): Promise<Listener[]> {
  const onReject = (remote: string, why: string): void => {
    env.logger.log('notice', `Client connection from ${remote} failed: ${why}.`);
  };
  // Read and check the TLS material before binding, so a bad file fails the start with its name.
  const tlsSetup =
    options.tls === undefined ? undefined : buildTlsServerSetup(options.tls, env.psk, env.handshakeTimeoutMs);
  if (options.protocol === 'websockets') {
    // Loaded on demand: `ws` and Node's HTTP stack add ~15 MiB of RSS to a broker that serves no WebSockets.
    const { openWebSocketListener } = await import('../transport/websocket-listener.js');
    return openWebSocketListener(
      options,
      {
        ...(tlsSetup === undefined ? {} : { tls: tlsSetup }),
        handshakeTimeoutMs: env.handshakeTimeoutMs,
        onReject,
      },
      onConnection,
    );
  }
  if (tlsSetup !== undefined && options.tls !== undefined) {
    return openTlsListener({ ...options, tls: options.tls }, tlsSetup, onConnection, onReject);
  }
  return openTcpListener(options, onConnection);
}
