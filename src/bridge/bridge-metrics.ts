// The bridges' figures for /metrics (a MetricsSource, src/ports/metrics.ts): state and counters per bridge,
// read from each link's snapshot at scrape time.

import type { MetricFamily, MetricSample } from '../ports/metrics.js';
import type { BridgeStats } from './bridge-host.js';

export interface BridgeList {
  list(): Array<{ name: string; stats: BridgeStats }>;
}

type Figure = [name: string, type: 'gauge' | 'counter', help: string, value: (s: BridgeStats) => number];

const FIGURES: readonly Figure[] = [
  [
    'culex_bridge_up',
    'gauge',
    'Whether the bridge is connected to its remote broker (1) or not (0).',
    (s) => (s.state === 'up' ? 1 : 0),
  ],
  [
    'culex_bridge_connects_total',
    'counter',
    'Times the bridge connected (reconnects: this minus one).',
    (s) => s.connects,
  ],
  [
    'culex_bridge_messages_received_total',
    'counter',
    'Messages received from the remote broker.',
    (s) => s.messagesIn,
  ],
  [
    'culex_bridge_messages_sent_total',
    'counter',
    'Messages sent to the remote broker.',
    (s) => s.messagesOut,
  ],
  ['culex_bridge_received_bytes_total', 'counter', 'Bytes read from the remote broker.', (s) => s.bytesIn],
  ['culex_bridge_sent_bytes_total', 'counter', 'Bytes written to the remote broker.', (s) => s.bytesOut],
  [
    'culex_bridge_queued_messages',
    'gauge',
    "Messages waiting in the bridge's local session.",
    (s) => s.queued,
  ],
  [
    'culex_bridge_dropped_messages_total',
    'counter',
    "Messages the bridge's local session dropped.",
    (s) => s.dropped,
  ],
];

export const BRIDGE_STATES = ['stopped', 'waiting', 'connecting', 'up', 'idle'] as const;

export function bridgeMetrics(bridges: BridgeList): { collect(): MetricFamily[] } {
  return {
    collect: () => {
      const all = bridges.list();
      const families: MetricFamily[] = FIGURES.map(([name, type, help, value]) => ({
        name,
        type,
        help,
        samples: all.map((b): MetricSample => [{ bridge: b.name }, value(b.stats)]),
      }));
      families.push({
        name: 'culex_bridge_state',
        type: 'gauge',
        help: 'The state of each bridge: 1 for its current state, 0 for the others.',
        samples: all.flatMap((b) =>
          BRIDGE_STATES.map(
            (state): MetricSample => [{ bridge: b.name, state }, b.stats.state === state ? 1 : 0],
          ),
        ),
      });
      return families;
    },
  };
}
