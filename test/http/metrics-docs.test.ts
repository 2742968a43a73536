// docs/metrics.md and the Grafana dashboard stay true to /metrics: every family served is documented, every
// documented one is served, and every metric the dashboard queries exists.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ClusterMetricsView, clusterMetrics } from '../../src/cluster/cluster-metrics.js';
import { httpRequest } from './http-client.js';
import { startOps } from './ops-broker.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

/** Families of a broker built as the `culex` command builds one (bridge families included, without bridges). */
async function servedFamilies(): Promise<Set<string>> {
  const broker = await startOps(['allow_anonymous true']);
  try {
    const { body } = await httpRequest(broker.httpPort, '/metrics');
    return new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
  } finally {
    await broker.stop();
  }
}

function documentedIn(text: string): string[] {
  return [...text.matchAll(/^\| `([a-z_:]+)` \| (?:counter|gauge|summary|histogram) \|/gm)]
    .map((m) => m[1]!)
    .sort();
}

/** A cluster node's view with nothing happened yet (cluster sessions on, so every family is there). */
const IDLE_NODE: ClusterMetricsView = {
  nodeId: 'a',
  peers: () => [],
  counters: () => ({ forwarded: 0, received: 0, dropped: 0 }),
  redisUp: () => true,
  requests: () => ({ replied: 0, failed: 0, timedOut: 0 }),
  adoptions: () => ({ nodes: 0, sessions: 0, wills: 0, drained: 0 }),
  routeConfirmTimeouts: () => 0,
};

test('docs/metrics.md documents exactly the families /metrics serves (and the cluster source adds)', async () => {
  const served = await servedFamilies();
  const doc = readFileSync(`${root}docs/metrics.md`, 'utf8');
  const [main = '', cluster = ''] = doc.split('### Cluster');
  assert.deepEqual([...served].sort(), documentedIn(main));
  const source = clusterMetrics(IDLE_NODE);
  assert.deepEqual(
    source
      .collect()
      .map((f) => f.name)
      .sort(),
    documentedIn(cluster),
  );
});

test('the Grafana dashboard queries only metrics that /metrics serves (a cluster node included)', async () => {
  const served = await servedFamilies();
  const cluster = clusterMetrics(IDLE_NODE);
  for (const family of cluster.collect()) served.add(family.name);
  const dashboard = JSON.parse(readFileSync(`${root}docs/grafana/culex-dashboard.json`, 'utf8')) as Dashboard;
  assert.ok(dashboard.panels.length >= 10);
  const used = new Set<string>();
  for (const panel of dashboard.panels) {
    assert.ok(panel.targets.length > 0, panel.title);
    for (const { expr } of panel.targets) {
      for (const m of expr.matchAll(/\b((?:culex|nodejs|process)_[a-z_]+)\b/g)) used.add(m[1]!);
    }
  }
  const unknown = [...used].filter(
    (name) => !served.has(name.replace(/_(sum|count|bucket)$/, '')) && !served.has(name),
  );
  assert.deepEqual(unknown, []);
  for (const name of [
    'culex_clients_connected',
    'culex_messages_received_total',
    'culex_messages_dropped_total',
  ])
    assert.ok(used.has(name), `dashboard shows ${name}`);
});
