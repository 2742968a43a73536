// What a bridge needs from the local broker (nothing more than a listener gives it), and what it reports.

import type { Duplex } from 'node:stream';
import type { Logger } from '../broker/logger.js';
import type { QoS } from '../protocol/packets.js';

export interface BridgeHost {
  /** Hands the broker the local end of an in-memory pair, as a listener hands it a socket. */
  connectLocal(stream: Duplex, remoteAddress: string): void;
  /** Publishes as the broker itself (notifications on the local side). */
  publishLocal(topic: string, payload: Buffer, qos: QoS, retain: boolean): void;
  /** Messages queued in the local session `clientId` (lazy start's threshold, the `queued` counter). */
  queuedFor(clientId: string): number;
  /** Messages the local session `clientId` dropped (full queue, too large for the remote…). */
  droppedFor(clientId: string): number;
  readonly logger: Logger;
  /** This broker's identity in the bridge peer exchange (src/broker/bridge-peer.ts). */
  readonly brokerId: string;
}

export type BridgeState = 'stopped' | 'waiting' | 'connecting' | 'up' | 'idle';

/** Counters of one bridge, for $SYS and the metrics endpoint. */
export interface BridgeStats {
  state: BridgeState;
  /** Address of the current or last attempt. */
  address: string;
  /** Times the link came up. */
  connects: number;
  messagesOut: number;
  messagesIn: number;
  bytesOut: number;
  bytesIn: number;
  /** Messages received from one side that no topic of the bridge maps to the other. */
  unmapped: number;
  /** Messages waiting in the bridge's local session. */
  queued: number;
  /** Messages its local session dropped. */
  dropped: number;
}
