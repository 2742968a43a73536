// GET /api/culex/v1/cluster/nodes: the cluster's members as this node last saw them (its heartbeat reads them
// from Redis; the request reads nothing more), 404 on a broker that is not in cluster mode (docs/http-api.md).

import type { AdminAnswer, AdminContext } from './admin-api.js';

export function listClusterNodes(context: AdminContext): AdminAnswer {
  const cluster = context.cluster();
  if (cluster === undefined) return { status: 404, body: { error: 'not a cluster' } };
  const nodes = cluster.nodes().map((n) => ({
    node: n.node,
    self: n.self,
    alive: n.alive,
    last_beat: n.lastBeat,
    clients: n.clients,
  }));
  return { status: 200, body: { nodes } };
}
