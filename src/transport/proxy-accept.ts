// Reads the PROXY header off a freshly accepted socket before any MQTT byte, with a size bound and a deadline,
// then hands the socket on with the client address the proxy reported.

import type { Socket } from 'node:net';
import type { ConnectionHandler } from './listener.js';
import {
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_BODY_BYTES,
  type ProxiedPeer,
  parseProxyHeader,
} from './proxy-header.js';

export interface ProxyPolicy {
  version: 1 | 2;
  /** `proxy_protocol_v2_require_tls`: refuse clients the proxy says did not use TLS. */
  requireTls: boolean;
  /** Mosquitto 2.1: a v2 header must report a verified client certificate (require_certificate). */
  requireCertificate: boolean;
  /** use_identity_as_username: the certificate's common name from the v2 header becomes the username. */
  identityAsUsername: boolean;
  /** Longest wait for the complete header (the broker's connect timeout, as for TLS handshakes). */
  timeoutMs: number;
  /** Logs the refusal the way Mosquitto 2.1 does ("Connection from … rejected, …"). */
  onReject(line: string): void;
}

const MAX_HEADER = Math.max(PROXY_V1_MAX_BYTES, 16 + PROXY_V2_MAX_BODY_BYTES);

/** Called once per proxied connection (not per message), so the closures here cost nothing on the hot path. */
export function acceptProxied(
  socket: Socket,
  socketAddress: string,
  policy: ProxyPolicy,
  onConnection: ConnectionHandler,
): void {
  let pending: Buffer = Buffer.alloc(0);
  const reject = (line: string): void => {
    finish();
    policy.onReject(line);
    socket.destroy();
  };
  const timer = setTimeout(
    () => reject(`Connection from ${socketAddress} rejected, no PROXY header within ${policy.timeoutMs} ms.`),
    policy.timeoutMs,
  );
  const onClose = (): void => finish();
  // Until the MQTT side owns the socket, a reset by the peer is just the end of it.
  const onError = (): void => finish();
  const onData = (chunk: Buffer): void => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    const parsed = parseProxyHeader(pending, policy.version);
    if (parsed === undefined) {
      if (pending.length > MAX_HEADER)
        reject(`Connection from ${socketAddress} rejected, corrupt PROXY header.`);
      return;
    }
    if (typeof parsed === 'string') {
      reject(`Connection from ${socketAddress} rejected, corrupt PROXY header.`);
      return;
    }
    admit(parsed);
  };
  function finish(): void {
    clearTimeout(timer);
    socket.off('data', onData);
    socket.off('close', onClose);
    socket.off('error', onError);
  }
  function admit(peer: ProxiedPeer): void {
    if (policy.requireTls && !peer.tls) {
      reject(`Connection from ${peer.address} rejected, client did not connect using TLS.`);
      return;
    }
    if (policy.requireCertificate && !peer.certificate) {
      reject(`Connection from ${peer.address} rejected, client did not provide a certificate.`);
      return;
    }
    finish();
    socket.pause();
    const rest = pending.subarray(peer.consumed);
    if (rest.length > 0) socket.unshift(rest);
    // null: no usable identity, refused at CONNECT as on a TLS listener.
    if (policy.identityAsUsername) onConnection(socket, peer.address, peer.commonName ?? null);
    else onConnection(socket, peer.address);
    socket.resume();
  }
  socket.on('data', onData);
  socket.on('close', onClose);
  socket.on('error', onError);
}
