// The Redis keys of the cluster's sessions, all under one prefix (`cluster_key_prefix`, default `culex:`) so that
// several clusters share one Redis. Keys are per client identifier, not per node: any node can load a session.

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** Hash: expiry interval, disconnected-at, owner username and listener port. */
  session(clientId: string): string {
    return `${this.prefix}session:${clientId}`;
  }
  /** Hash: filter -> encoded subscription. */
  subs(clientId: string): string {
    return `${this.prefix}session:${clientId}:subs`;
  }
  /** Hash: delivery field -> encoded delivery (order, message key, QoS, flags, identifiers, share group). */
  deliveries(clientId: string): string {
    return `${this.prefix}session:${clientId}:deliveries`;
  }
  /** Hash: delivery field -> `packetId:released`, written apart so that an update needs nothing but the field. */
  deliveryState(clientId: string): string {
    return `${this.prefix}session:${clientId}:dstate`;
  }
  /** Set: packet identifiers of incoming QoS 2 messages (PUBREC sent, PUBREL not yet received). */
  qos2in(clientId: string): string {
    return `${this.prefix}session:${clientId}:qos2in`;
  }
  /** String: the encoded will (armed or delayed). */
  will(clientId: string): string {
    return `${this.prefix}session:${clientId}:will`;
  }
  /** Every key of one session (for DEL). */
  allOf(clientId: string): string[] {
    return [
      this.session(clientId),
      this.subs(clientId),
      this.deliveries(clientId),
      this.deliveryState(clientId),
      this.qos2in(clientId),
      this.will(clientId),
    ];
  }
  /** Hash: `d` the encoded message, `r` how many deliveries refer to it (it goes at 0). */
  message(key: string): string {
    return `${this.prefix}msg:${key}`;
  }
  /** Hash: client id -> node id owning the session. */
  get owner(): string {
    return `${this.prefix}owner`;
  }
  /** Set: client ids of the sessions a node owns. */
  nodeSessions(nodeId: string): string {
    return `${this.prefix}node:${nodeId}:sessions`;
  }
  /** Hash: topic -> encoded retained message. */
  get retained(): string {
    return `${this.prefix}retained`;
  }
  /** Hash: adopted client id -> the dead node whose inbox may still hold messages for it (until drained). */
  get adopted(): string {
    return `${this.prefix}adopted`;
  }
  /** Counter: one number per store opened, so that message keys and delivery fields are unique cluster-wide. */
  get epoch(): string {
    return `${this.prefix}epoch`;
  }
}
