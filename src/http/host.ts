// What the HTTP API listener reads from the broker: the core's state and counters, and the listeners opened.

import type { BridgeList } from '../bridge/bridge-metrics.js';
import type { BrokerCore } from '../broker/broker-core.js';
import type { ListenerContext } from '../broker/listener-context.js';
import type { MetricsRegistry } from '../ports/metrics.js';
import type { ListenerOptions } from '../transport/listener-options.js';

/** The running bridges as the admin API sees them (src/bridge/bridges.ts `Bridges`). */
export interface BridgeControl extends BridgeList {
  /** False when there is no bridge of that name. */
  start(name: string): boolean;
  stop(name: string): boolean;
}

/** One cluster node as the admin API shows it (src/cluster/membership.ts `MemberState`). */
export interface ClusterNodeState {
  readonly node: string;
  readonly self: boolean;
  readonly alive: boolean;
  /** Its last heartbeat, Unix ms on the Redis server's clock; null when unknown (it left). */
  readonly lastBeat: number | null;
  readonly clients: number | null;
}

/** This node's view of its cluster (src/cluster/node-link.ts `NodeLink`). */
export interface ClusterView {
  /** Every node in the membership as of the last heartbeat; nothing is read from Redis. */
  nodes(): readonly ClusterNodeState[];
}

export interface HttpApiHost {
  readonly core: BrokerCore;
  /** Culex's version, for /api/v1/version and culex_build_info. */
  readonly version: string;
  /** Every listener opened so far in configuration order, with the port really bound (the http_api ones too). */
  listenerOptions(): readonly ListenerOptions[];
  /** Figures other parts add to /metrics (bridges, a cluster). */
  readonly metrics: MetricsRegistry;
  /** The bridges, once started (createBroker starts them after the listeners); undefined without any. */
  bridges(): BridgeControl | undefined;
  /** Cluster mode: this node's view of the cluster, once it joined; undefined for a single node. */
  cluster(): ClusterView | undefined;
}

/** The HTTP API listener's own settings; its context (hooks, security) exists once its port is bound. */
export interface HttpApiListenerSetup {
  readonly options: ListenerOptions;
  readonly context: () => ListenerContext;
}
