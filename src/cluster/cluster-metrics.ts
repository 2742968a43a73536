// The cluster's figures for /metrics (a MetricsSource, src/ports/metrics.ts), over a narrow view of a running
// cluster so that this file needs nothing of its classes. Register it where the cluster starts:
//   broker.metrics.add(clusterMetrics({ nodeId: c.nodeId, peers: () => c.link.aliveNodes(), counters: () => c.counters }))
// and remove it when the cluster stops (docs/metrics.md, "Cluster").

import type { MetricFamily, MetricSample } from '../ports/metrics.js';

export interface ClusterMetricsView {
  /** This node's id. */
  readonly nodeId: string;
  /** The other nodes seen alive now. */
  peers(): readonly string[];
  counters(): Readonly<{ forwarded: number; received: number; dropped: number }>;
}

export function clusterMetrics(view: ClusterMetricsView): { collect(): MetricFamily[] } {
  return {
    collect: () => {
      const peers = view.peers();
      const c = view.counters();
      const counter = (name: string, help: string, value: number): MetricFamily => ({
        name,
        type: 'counter',
        help,
        samples: [[{}, value]],
      });
      return [
        {
          name: 'culex_cluster_nodes',
          type: 'gauge',
          help: 'Cluster nodes alive, this one included.',
          samples: [[{}, peers.length + 1]],
        },
        {
          name: 'culex_cluster_node_up',
          type: 'gauge',
          help: 'Each node this one sees alive (1); `self` marks this node.',
          samples: [
            [{ node: view.nodeId, self: 'true' }, 1],
            ...peers.map((node): MetricSample => [{ node, self: 'false' }, 1]),
          ],
        },
        counter('culex_cluster_messages_forwarded_total', 'Message copies sent to other nodes.', c.forwarded),
        counter('culex_cluster_messages_received_total', 'Messages received from other nodes.', c.received),
        counter(
          'culex_cluster_messages_dropped_total',
          'Copies dropped: the queue for an unreachable shared store full, QoS 0 copies for a node at its inbox bound, or for another worker whose direct link is down or full.',
          c.dropped,
        ),
      ];
    },
  };
}
