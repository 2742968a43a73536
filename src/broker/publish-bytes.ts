// Payload bytes of PUBLISH packets in and out, for $SYS/broker/publish/bytes/{received,sent} and /metrics.

export interface PublishByteStats {
  /**
   * Payload bytes of every PUBLISH received, counted as Mosquitto does once the topic is known to be valid:
   * before ACL checks and QoS 2 duplicate detection, so refused and repeated messages count too.
   */
  publishBytesReceived: number;
  /** Payload bytes of every PUBLISH sent to a client, retransmissions included (Mosquitto's send__publish). */
  publishBytesSent: number;
}

export function emptyPublishByteStats(): PublishByteStats {
  return { publishBytesReceived: 0, publishBytesSent: 0 };
}
