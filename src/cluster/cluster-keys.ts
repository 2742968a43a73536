// The Redis key layout of a cluster, in one place; every key and channel starts with `cluster_key_prefix`.

export class ClusterKeys {
  constructor(readonly prefix: string) {}

  /** String: the format of everything under the prefix (cluster-format.ts), set by the first node. */
  get format(): string {
    return `${this.prefix}format`;
  }
  /** Sorted set: node id -> time of its last heartbeat (Redis server clock, ms). */
  get nodes(): string {
    return `${this.prefix}nodes`;
  }
  /** String, expires after 3 heartbeats: the node's start token; proves it is alive and owns its id. */
  node(id: string): string {
    return `${this.prefix}node:${id}`;
  }
  /** Lock (SET NX PX) won by the one survivor that handles a dead node. */
  reaper(id: string): string {
    return `${this.prefix}node:${id}:reaper`;
  }
  /** Stream: a node's inbox (forwarded publishes and other one-way messages). */
  inbox(id: string): string {
    return `${this.prefix}inbox:${id}`;
  }
  /** Stream: a node's control stream (requests between nodes and their replies; bounded, control-stream.ts). */
  control(id: string): string {
    return `${this.prefix}ctl:${id}`;
  }
  /** Hash: a node's route table, filter (or `$share/<group>/<filter>`) -> local subscription count. */
  routes(id: string): string {
    return `${this.prefix}routes:${id}`;
  }
  /** Pub/sub channel of route changes. */
  get routesChannel(): string {
    return `${this.prefix}routes`;
  }
  /** Pub/sub channel: the answers to one node's route changes ("<node> NUL <seq>", route-confirm.ts). */
  routesAck(id: string): string {
    return `${this.prefix}routes-ack:${id}`;
  }
  /** Hash: topic -> encoded retained message (the authoritative copy). */
  get retained(): string {
    return `${this.prefix}retained`;
  }
  /** Pub/sub channel of retained changes (every node keeps a full copy). */
  get retainedChannel(): string {
    return `${this.prefix}retained`;
  }
  /** Hash: node id -> connected clients, written with each heartbeat (for $SYS/broker/cluster/clients/total). */
  get clients(): string {
    return `${this.prefix}clients`;
  }
  /** String: a plugin's shared state (the dynamic-security document), the cluster's copy. */
  state(name: string): string {
    return `${this.prefix}state:${name}`;
  }
  /** String: the version of that copy, raised by each write (compare-and-set, shared-state.ts). */
  stateVersion(name: string): string {
    return `${this.prefix}state:${name}:version`;
  }
  /** Pub/sub channel: "<node> NUL <name> NUL <version> [NUL <note>]..." when a node changed a shared state. */
  get stateChannel(): string {
    return `${this.prefix}state`;
  }
}
