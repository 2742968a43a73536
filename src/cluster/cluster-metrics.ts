// The cluster's figures for /metrics (a MetricsSource, src/ports/metrics.ts), over a narrow view of a running
// cluster so that this file needs nothing of its classes. Register it where the cluster starts:
//   broker.metrics.add(clusterMetrics({ nodeId: c.nodeId, peers: () => c.link.aliveNodes(), counters: ... }))
// and remove it when the cluster stops (docs/metrics.md, "Cluster").

import type { MetricFamily, MetricSample } from '../ports/metrics.js';

export interface ClusterMetricsView {
  /** This node's id. */
  readonly nodeId: string;
  /** The other nodes seen alive now. */
  peers(): readonly string[];
  counters(): Readonly<{ forwarded: number; received: number; dropped: number }>;
  /** False while the connection to Redis is lost. */
  redisUp(): boolean;
  /** How this node's requests to other nodes (session takeovers) ended. */
  requests(): Readonly<{ replied: number; failed: number; timedOut: number }>;
  /** Dead nodes this node reaped, and what it adopted from them; undefined without cluster sessions. */
  adoptions(): Readonly<{ nodes: number; sessions: number; wills: number; drained: number }> | undefined;
  /** Held SUBACKs released before every node confirmed the new route (route-confirm.ts). */
  routeConfirmTimeouts(): number;
}

export function clusterMetrics(view: ClusterMetricsView): { collect(): MetricFamily[] } {
  return {
    collect: () => {
      const peers = view.peers();
      const c = view.counters();
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
        {
          name: 'culex_cluster_redis_up',
          type: 'gauge',
          help: 'Whether this node is connected to Redis (0 while the connection is lost and retried).',
          samples: [[{}, view.redisUp() ? 1 : 0]],
        },
        requestFamily(view.requests()),
        counter(
          'culex_cluster_route_confirm_timeouts_total',
          'SUBACKs for a route new to this node sent before every other node confirmed the route (one did not answer within cluster_heartbeat_interval).',
          view.routeConfirmTimeouts(),
        ),
        ...adoptionFamilies(view.adoptions()),
        counter(
          'culex_cluster_messages_dropped_total',
          'Copies dropped: the queue for an unreachable shared store full, QoS 0 copies for a node at its inbox bound, or for another worker whose direct link is down or full.',
          c.dropped,
        ),
      ];
    },
  };
}

function requestFamily(r: ReturnType<ClusterMetricsView['requests']>): MetricFamily {
  return {
    name: 'culex_cluster_requests_total',
    type: 'counter',
    help: 'Requests this node sent to other nodes (session takeovers at CONNECT), by outcome: replied, failed (an error reply or a failed write), timed_out (no reply in time: the session was taken as if its node were dead).',
    samples: [
      [{ outcome: 'replied' }, r.replied],
      [{ outcome: 'failed' }, r.failed],
      [{ outcome: 'timed_out' }, r.timedOut],
    ],
  };
}

function adoptionFamilies(a: ReturnType<ClusterMetricsView['adoptions']>): MetricFamily[] {
  if (a === undefined) return [];
  return [
    counter(
      'culex_cluster_dead_nodes_reaped_total',
      'Dead nodes this node handled as their reaper.',
      a.nodes,
    ),
    counter(
      'culex_cluster_sessions_adopted_total',
      'Persistent sessions this node adopted from dead nodes.',
      a.sessions,
    ),
    counter(
      'culex_cluster_orphan_wills_total',
      "Wills of dead nodes' clean-session clients this node published.",
      a.wills,
    ),
    counter(
      'culex_cluster_inbox_drained_total',
      "Messages left in dead nodes' inboxes that this node routed to the sessions it adopted.",
      a.drained,
    ),
  ];
}

function counter(name: string, help: string, value: number): MetricFamily {
  return { name, type: 'counter', help, samples: [[{}, value]] };
}
