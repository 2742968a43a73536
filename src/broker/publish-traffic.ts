// PUBLISH packets and their payload bytes in and out, by QoS, for $SYS/broker/publish/bytes/{received,sent} and
// /metrics. Indexed by QoS (0, 1, 2): two array increments per packet, no allocation.

export type QosCounts = [number, number, number];

export interface PublishTrafficStats {
  /**
   * PUBLISH packets and payload bytes received, counted as Mosquitto counts the bytes: once the topic is known to
   * be valid, before ACL checks and QoS 2 duplicate detection, so refused and repeated messages count too.
   */
  readonly publishReceived: QosCounts;
  readonly publishReceivedBytes: QosCounts;
  /** PUBLISH packets and payload bytes sent to clients, retransmissions included (Mosquitto's send__publish). */
  readonly publishSent: QosCounts;
  readonly publishSentBytes: QosCounts;
}

export function emptyPublishTrafficStats(): PublishTrafficStats {
  return {
    publishReceived: [0, 0, 0],
    publishReceivedBytes: [0, 0, 0],
    publishSent: [0, 0, 0],
    publishSentBytes: [0, 0, 0],
  };
}

export function sum(counts: QosCounts): number {
  return counts[0] + counts[1] + counts[2];
}
