// The benchmark scenarios: generator arguments and the figures read from each result.
import type { BrokerName, BrokerStartOptions } from './brokers.js';
import { type LoadResult, num } from './loadgen.js';

export interface Figure {
  /** Row label, e.g. "msg/s" or "p99 latency". */
  name: string;
  unit: string;
  higherIsBetter: boolean;
  /** False for figures a saturated generator cannot distort (memory per connection). */
  rateBound?: boolean;
  read(r: LoadResult): number;
}

export interface Scenario {
  /** Name accepted by BENCH_SCENARIOS (the number works too). */
  id: string;
  number: string;
  title: string;
  /** Brokers this scenario runs on; all when absent. */
  brokers?: readonly BrokerName[];
  brokerOptions?: BrokerStartOptions;
  args(durationS: number): string[];
  figures: readonly Figure[];
  /** Upper bound for one generator run, in ms. */
  timeoutMs(durationS: number): number;
  /** Seconds of the same load run unmeasured first, on the same broker process (steady-state latency). */
  warmupS?: number;
}

const rate = (name: string): Figure => ({
  name,
  unit: '/s',
  higherIsBetter: true,
  read: (r) => num(r, 'rate'),
});
const latency = (pct: 'p50' | 'p99'): Figure => ({
  name: `${pct} latency`,
  unit: 'µs',
  higherIsBetter: false,
  read: (r) => num(r, `${pct}_us`),
});

const pubsubTimeout = (d: number): number => (d + 30 + 30 + 20) * 1000;

/** Fixed arguments shared by the QoS 1 persistence runs (on and off). */
const persistArgs = (d: number): string[] =>
  ['--pubs', '10', '--subs', '10', '--topics', '10', '--qos', '1', '--inflight', '10', '--clean', '0'].concat(
    ['--duration', String(d)],
  );

/** Scenarios 5 and 5b: 10 pairs at a fixed 1,000 msg/s each, measured after a warm-up; only the brokers' TCP
 * options differ. */
const fixedRateLatency = {
  warmupS: 2,
  args: (d: number): string[] => [
    '--pubs',
    '10',
    '--subs',
    '10',
    '--topics',
    '10',
    '--rate',
    '1000',
    '--duration',
    String(d),
  ],
  figures: [latency('p50'), latency('p99')],
  timeoutMs: pubsubTimeout,
};

const connRate: Figure = {
  name: 'connection rate',
  unit: 'conn/s',
  higherIsBetter: true,
  read: (r) => num(r, 'conn_rate'),
};
const kibPerConn: Figure = {
  name: 'broker RSS per conn',
  unit: 'KiB',
  higherIsBetter: false,
  rateBound: false,
  read: (r) => num(r, 'kb_per_conn'),
};

/** Idle clients held for 6 s (PINGREQ every 5 s): connection rate and the broker's RSS growth per connection. */
function idleConnections(
  id: string,
  number: string,
  title: string,
  extra: string[],
  brokerOptions?: BrokerStartOptions,
  conns = 15000,
): Scenario {
  return {
    id,
    number,
    title,
    ...(brokerOptions === undefined ? {} : { brokerOptions }),
    args: () => ['--mode', 'conns', '--conns', String(conns), '--keepalive', '10', '--idle', '6', ...extra],
    figures: [connRate, kibPerConn],
    timeoutMs: () => 240_000,
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    id: 'fanin',
    number: '1',
    title: 'fan-in: 10 pubs -> 1 wildcard sub, QoS 0',
    args: (d) => ['--pubs', '10', '--subs', '1', '--topics', '10', '--wildcard', '--duration', String(d)],
    figures: [rate('msg/s received')],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'fanout',
    number: '2',
    title: 'fan-out: 1 pub -> 100 subs, QoS 0',
    args: (d) => ['--pubs', '1', '--subs', '100', '--topics', '1', '--duration', String(d)],
    figures: [rate('deliveries/s')],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'pairs',
    number: '3',
    title: 'pairs: 100 pub/sub pairs, QoS 1, 10 in flight',
    args: (d) => [
      '--pubs',
      '100',
      '--subs',
      '100',
      '--topics',
      '100',
      '--qos',
      '1',
      '--inflight',
      '10',
      '--duration',
      String(d),
    ],
    figures: [rate('msg/s'), latency('p50'), latency('p99')],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'qos2',
    number: '4',
    title: 'QoS 2: 10 pairs, 10 in flight',
    args: (d) => [
      '--pubs',
      '10',
      '--subs',
      '10',
      '--topics',
      '10',
      '--qos',
      '2',
      '--inflight',
      '10',
      '--duration',
      String(d),
    ],
    figures: [rate('msg/s')],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'latency',
    number: '5',
    title: 'latency: 10 pairs x 1,000 msg/s, QoS 0',
    ...fixedRateLatency,
  },
  {
    id: 'latency-nodelay',
    number: '5b',
    title: 'latency, every broker with TCP_NODELAY (Culex: its default)',
    brokerOptions: { nodelay: true },
    ...fixedRateLatency,
  },
  {
    id: 'conns',
    number: '6',
    title: 'connections: 10,000 idle clients, keepalive 60',
    args: (d) => [
      '--mode',
      'conns',
      '--conns',
      '10000',
      '--keepalive',
      '60',
      '--idle',
      String(Math.min(5, d / 2)),
    ],
    figures: [
      { name: 'time to connect all', unit: 's', higherIsBetter: false, read: (r) => num(r, 'connect_s') },
      kibPerConn,
      connRate,
    ],
    timeoutMs: (d) => (d + 90) * 1000,
  },
  // Scenarios 6b-6f: 15,000 idle clients (this machine's 20,000 open files per process leave room for the rest),
  // keepalive 10 s so every client sends PINGREQs during the 6 s held and the broker's keepalive check runs.
  idleConnections('conns15k', '6b', 'connections: 15,000 idle clients, MQTT 3.1.1, keepalive 10', []),
  idleConnections('conns15k-v5', '6c', 'connections: 15,000 idle clients, MQTT 5.0, keepalive 10', [
    '--proto',
    '5',
  ]),
  idleConnections(
    'conns15k-tls',
    '6d',
    'connections: 15,000 idle TLS clients (P-256), keepalive 10',
    ['--tls'],
    {
      tls: true,
    },
  ),
  idleConnections(
    'ws',
    '6e',
    'WebSocket: 5,000 clients set up (upgrade + CONNECT)',
    ['--ws'],
    { websockets: true },
    5000,
  ),
  {
    id: 'churn',
    number: '6f',
    title: 'churn: 15,000 clients connect and leave, 100 at a time',
    args: () => ['--mode', 'churn', '--conns', '15000', '--parallel', '100', '--idle', '5'],
    figures: [
      connRate,
      {
        name: 'RSS after, vs before',
        unit: 'x',
        higherIsBetter: false,
        rateBound: false,
        read: (r) => num(r, 'rss_after_ratio'),
      },
    ],
    timeoutMs: () => 240_000,
  },
  {
    id: 'large',
    number: '7',
    title: 'large payloads: 10 pairs, 64 KiB, QoS 1',
    args: (d) => [
      '--pubs',
      '10',
      '--subs',
      '10',
      '--topics',
      '10',
      '--qos',
      '1',
      '--size',
      '65536',
      '--duration',
      String(d),
    ],
    figures: [{ name: 'MB/s', unit: 'MB/s', higherIsBetter: true, read: (r) => num(r, 'mb_per_s') }],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'retained',
    number: '8',
    title: "retained: 10,000 retained topics, then a '#' subscriber",
    args: () => ['--mode', 'retained', '--retained', '10000'],
    figures: [
      {
        name: 'time to receive all',
        unit: 'ms',
        higherIsBetter: false,
        read: (r) => num(r, 'receive_s') * 1000,
      },
    ],
    timeoutMs: () => 180_000,
  },
  {
    id: 'persist-off',
    number: '9a',
    title: 'persist: 10 pairs, QoS 1, clean session 0, persistence off',
    // Mosquitto for reference: its `persistence true` saves on autosave_interval / shutdown, not per message.
    brokers: ['culex', 'mosquitto'],
    args: persistArgs,
    figures: [rate('msg/s')],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'persist-on',
    number: '9b',
    title: 'persist: same, `persistence true`',
    brokers: ['culex', 'mosquitto'],
    brokerOptions: { persistence: true },
    args: persistArgs,
    figures: [rate('msg/s')],
    timeoutMs: pubsubTimeout,
  },
  {
    id: 'persist-full',
    number: '9c',
    title: 'persist: same, `persistence_sync full` (fsync per commit)',
    brokers: ['culex'],
    brokerOptions: { persistence: true, persistenceSync: 'full' },
    args: persistArgs,
    figures: [rate('msg/s')],
    timeoutMs: pubsubTimeout,
  },
];

/** BENCH_SCENARIOS: comma-separated ids or numbers; "persist" selects the three persistence runs. */
export function selectScenarios(spec: string | undefined): Scenario[] {
  if (spec === undefined || spec.trim() === '' || spec.trim() === 'all') return [...SCENARIOS];
  const wanted = spec.split(',').map((s) => s.trim().toLowerCase());
  const picked = SCENARIOS.filter((s) =>
    wanted.some(
      (w) => w === s.id || w === s.number || ((w === 'persist' || w === '9') && s.id.startsWith('persist')),
    ),
  );
  const known = new Set(SCENARIOS.flatMap((s) => [s.id, s.number]).concat(['persist', '9']));
  const unknown = wanted.filter((w) => !known.has(w));
  if (unknown.length > 0) throw new Error(`unknown scenario(s): ${unknown.join(', ')}`);
  return picked;
}

/** The generator was the bottleneck: saturated while the broker still had room. */
export function generatorBound(r: LoadResult): boolean {
  // The retained scenario's window is tens of ms: tick-sampled CPU figures mean nothing there.
  if (r.mode !== 'pubsub' && r.mode !== 'conns' && r.mode !== 'churn') return false;
  return num(r, 'gen_cpu') > 90 && num(r, 'broker_cpu') < 90;
}
