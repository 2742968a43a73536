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
 * Hands a completed TLS connection to the broker with the username its certificate or PSK identity gives,
 * or closes it when the listener needs such a username and there is none.
 */
export function acceptTls(
  socket: TLSSocket,
  remoteAddress: string,
  tls: TlsOptions,
  setup: TlsServerSetup,
  onConnection: ConnectionHandler,
  onReject: TlsRejectHandler,
): void {
  const username = tlsUsername(socket, tls, setup.pskIdentities.get(socket));
  if (username === null) {
    onReject(
      remoteAddress,
      'no usable certificate identity for use_identity_as_username / use_subject_as_username',
    );
    socket.destroy();
    return;
  }
  onConnection(socket, remoteAddress, username);
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
      acceptTls(socket, remote, options.tls, setup, onConnection, onReject);
    });
    // Failed or timed-out handshakes (wrong CA, expired certificate, a peer that never speaks): log and drop.
    server.on('tlsClientError', (err, socket) => {
      onReject(peerAddress(socket, options.unixSocketPath ?? 'unix'), err.message);
      socket.destroy();
    });
    return { server };
  });
}
