// TLS listeners (certificates and/or TLS-PSK) for plain MQTT: one `tls` server per bind address.

import { createServer, type TLSSocket } from 'node:tls';
import { bindServers } from './bind-servers.js';
import { tlsUsername } from './certificate-identity.js';
import type { ConnectionHandler, Listener } from './listener.js';
import type { ListenerOptions, TlsOptions } from './listener-options.js';
import { peerAddress } from './tcp-listener.js';
import type { TlsServerSetup } from './tls-context.js';

/** Called for a client the listener refuses before MQTT starts (no usable identity, a failed handshake). */
export type TlsRejectHandler = (remoteAddress: string, why: string) => void;

/**
 * Hands a completed TLS connection to the broker with the username its certificate or PSK identity gives
 * (null when the listener needs one and there is none: Mosquitto answers that CONNECT with CONNACK 4 / 0x86).
 */
export function acceptTls(
  socket: TLSSocket,
  remoteAddress: string,
  tls: TlsOptions,
  setup: TlsServerSetup,
  onConnection: ConnectionHandler,
): void {
  onConnection(socket, remoteAddress, tlsUsername(socket, tls, setup.pskIdentities.get(socket)));
}

export function openTlsListener(
  options: ListenerOptions & { tls: TlsOptions },
  setup: TlsServerSetup,
  onConnection: ConnectionHandler,
  onReject: TlsRejectHandler,
): Promise<Listener[]> {
  return bindServers(options, () => {
    const server = createServer({ ...setup.options, noDelay: options.setTcpNodelay }, (socket) => {
      const remote = peerAddress(socket, options.unixSocketPath ?? 'unix');
      acceptTls(socket, remote, options.tls, setup, onConnection);
    });
    // Failed or timed-out handshakes (wrong CA, expired certificate, a peer that never speaks): log and drop.
    server.on('tlsClientError', (err, socket) => {
      onReject(peerAddress(socket, options.unixSocketPath ?? 'unix'), err.message);
      socket.destroy();
    });
    return { server };
  });
}
