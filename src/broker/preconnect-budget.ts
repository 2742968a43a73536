// What connections that have not completed CONNECT and authentication may make the broker hold: each one
// (a packet size bound, checked from the fixed header by the decoder) and all of them together (this budget).

import type { Packet } from '../protocol/packets.js';
import type { Connection } from './connection.js';
import type { BrokerOptions } from './options.js';

/** Packets a client may send ahead while its authentication runs; more closes the connection. */
export const MAX_PENDING_PACKETS = 1000;

/** Largest packet accepted before CONNACK: the Culex pre-CONNECT bound, within max_packet_size. */
export function preConnectPacketLimit(options: BrokerOptions): number {
  const a = options.maxPreConnectPacketSize;
  const b = options.maxPacketSize;
  if (a === 0) return b;
  return b === 0 ? a : Math.min(a, b);
}

/** A connection's share of the budget. */
export interface Reserver {
  reservedBytes: number;
}

/**
 * Bytes reserved by unauthenticated connections: each holds what its decoder announced (the whole packet being
 * assembled, from its fixed header) plus the packets held during authentication. A connection is refused more as
 * soon as the total would pass the limit, so the newest or largest claimant is the one closed.
 */
export class PreConnectBudget {
  private used = 0;

  constructor(private readonly limit: number) {}

  /** Bytes reserved by every unauthenticated connection together. */
  get bytes(): number {
    return this.used;
  }

  /** Sets `who`'s reservation to `bytes`; false (nothing changed) when growing it would pass the limit. */
  reserve(who: Reserver, bytes: number): boolean {
    const next = this.used - who.reservedBytes + bytes;
    if (this.limit > 0 && bytes > who.reservedBytes && next > this.limit) return false;
    this.used = next;
    who.reservedBytes = bytes;
    return true;
  }

  release(who: Reserver): void {
    this.used -= who.reservedBytes;
    who.reservedBytes = 0;
  }
}

/** Before CONNACK: claims what the decoder announced and the held packets from the broker-wide budget. */
export function reservePreConnect(connection: Connection): void {
  const decoder = connection.decoder;
  const broker = connection.broker;
  // The packet being assembled claims its whole announced length as soon as its fixed header is read.
  const bytes = connection.pendingBytes + Math.max(decoder.bufferedBytes, decoder.expectedBytes);
  if (broker.preConnect.reserve(connection, bytes)) return;
  broker.logger.log(
    'notice',
    `Client ${connection.clientId || '<unknown>'} disconnected: unauthenticated connections would hold more than ${broker.options.maxPreConnectBytes} bytes.`,
  );
  connection.close(false);
}

/** Keeps a packet sent ahead while authentication runs, within a count and the pre-CONNECT size. */
export function holdPending(connection: Connection, pending: Packet[], packet: Packet): void {
  const broker = connection.broker;
  connection.pendingBytes += connection.decoder.lastPacketBytes;
  if (
    pending.length >= MAX_PENDING_PACKETS ||
    connection.pendingBytes > (preConnectPacketLimit(broker.options) || Number.MAX_SAFE_INTEGER)
  ) {
    broker.logger.log(
      'notice',
      `Client ${connection.clientId || '<unknown>'} disconnected: too many packets sent before CONNACK.`,
    );
    connection.close(false);
    return;
  }
  pending.push(packet);
}
