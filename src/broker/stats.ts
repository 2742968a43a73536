// Counters the broker keeps for $SYS and the library API.

import { type DropStats, emptyDropStats } from './drops.js';

export interface BrokerStats extends DropStats {
  messagesReceived: number;
  messagesSent: number;
  /** Disconnected sessions removed because their expiry interval ran out ($SYS/broker/clients/expired). */
  sessionsExpired: number;
}

export function emptyBrokerStats(): BrokerStats {
  return { messagesReceived: 0, messagesSent: 0, ...emptyDropStats(), sessionsExpired: 0 };
}
