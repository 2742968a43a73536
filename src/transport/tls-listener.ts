// TLS listeners (certificates and/or TLS-PSK) for plain MQTT: one `tls` server per bind address.

import { createServer, type TLSSocket } from 'node:tls';
import { bindServers } from './bind-servers.js';
import { tlsUsername } from './certificate-identity.js';
import type { ConnectionHandler, Listener } from './listener.js';
import type { ListenerOptions, TlsOptions } from './listener-options.js';
import { acceptedPeerAddress } from './socket-internals.js';
import { type DropHandler, peerAddress } from './tcp-listener.js';
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
  onReject: TlsRejectHandler,
): void {
  const revoked = revocationFailure(socket, setup);
  if (revoked !== undefined) {
    onReject(remoteAddress, revoked);
    socket.destroy();
    return;
  }
  onConnection(socket, remoteAddress, tlsUsername(socket, tls, setup.pskIdentities.get(socket)));
}

/**
 * Why a handshake that Node accepted must still be refused for the crlfile, or undefined. Mosquitto refuses
 * inside the handshake with an alert; Node offers no hook there, so the socket is closed before any MQTT byte
 * is read (docs/compatibility.md).
 */
export function revocationFailure(socket: TLSSocket, setup: TlsServerSetup): string | undefined {
  if (setup.revocation === undefined || !socket.authorized) return undefined;
  return setup.revocation.peerFailure(socket);
}

export function openTlsListener(
  options: ListenerOptions & { tls: TlsOptions },
  setup: TlsServerSetup,
  onConnection: ConnectionHandler,
  onReject: TlsRejectHandler,
  onDrop?: DropHandler,
): Promise<Listener[]> {
  return bindServers(
    options,
    () => {
      const server = createServer({ ...setup.options, noDelay: options.setTcpNodelay }, (socket) => {
        // From the handle: socket.remoteAddress would cache an object and a string on every socket.
        const remote = acceptedPeerAddress(socket, options.unixSocketPath ?? 'unix');
        acceptTls(socket, remote, options.tls, setup, onConnection, onReject);
      });
      setup.servers.add(server);
      server.once('close', () => setup.servers.delete(server));
      // Failed or timed-out handshakes (wrong CA, expired certificate, a peer that never speaks): log and drop.
      server.on('tlsClientError', (err, socket) => {
        onReject(peerAddress(socket, options.unixSocketPath ?? 'unix'), err.message);
        socket.destroy();
      });
      return { server };
    },
    undefined,
    onDrop,
  );
}
