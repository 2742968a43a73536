// Counters the broker keeps for $SYS and the library API.

import { type DropStats, emptyDropStats } from './drops.js';
import { emptyPublishTrafficStats, type PublishTrafficStats } from './publish-traffic.js';

export interface BrokerStats extends DropStats, PublishTrafficStats {
  messagesReceived: number;
  messagesSent: number;
  /** Disconnected sessions removed because their expiry interval ran out ($SYS/broker/clients/expired). */
  sessionsExpired: number;
  /** CONNECTs refused for bad credentials or because anonymous clients are not allowed (/metrics). */
  loginsRefused: number;
  /** memory_limit: PUBLISHes dropped (their clients disconnected) and connections closed at once (/metrics). */
  memoryRefusedMessages: number;
  memoryRefusedConnections: number;
}

export function emptyBrokerStats(): BrokerStats {
  return {
    messagesReceived: 0,
    messagesSent: 0,
    ...emptyDropStats(),
    ...emptyPublishTrafficStats(),
    sessionsExpired: 0,
    loginsRefused: 0,
    memoryRefusedMessages: 0,
    memoryRefusedConnections: 0,
  };
}
