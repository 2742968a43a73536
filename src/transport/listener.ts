// The shape every listener (TCP, TLS, WebSocket, Unix socket) has towards the rest of Culex.

import type { ByteStream } from '../broker/stream-listeners.js';

/**
 * A listener hands each accepted connection over as a duplex byte stream with the peer's address, plus the
 * username a TLS listener took from the client's certificate or PSK identity (use_identity_as_username), or
 * null when the listener takes usernames from TLS and the client gave none (refused at CONNECT, as Mosquitto does).
 */
export type ConnectionHandler = (
  stream: ByteStream,
  remoteAddress: string,
  certificateUsername?: string | null,
) => void;

export interface Listener {
  /** Human-readable description for log lines, e.g. "ipv4 listen socket on port 1883". */
  readonly description: string;
  /** The port really bound (useful with port 0), or 0 for Unix sockets. */
  readonly port: number;
  close(): Promise<void>;
}
