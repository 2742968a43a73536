// The overview: headline figures from $SYS (via /api/v1/systree), live graphs of connections and message and
// byte rates, and the listeners the broker opened.

import { useEffect, useState } from 'preact/hooks';
import { ADMIN, type ListenerInfo, type Login, request } from './api.js';
import { Chart } from './chart.js';
import type { Sampler } from './sampler.js';
import { AnyTable, formatBytes, formatDuration, Notice, Panel } from './ui.js';

function Figure(props: { label: string; value: string; testId?: string }): preact.JSX.Element {
  return (
    <div class="figure">
      <div class="value" data-testid={props.testId}>
        {props.value}
      </div>
      <div class="label">{props.label}</div>
    </div>
  );
}

/** A chart of the overview: its lines as [label, colour, the sampler's series]. */
interface OverviewChart {
  readonly title: string;
  readonly unit?: string;
  readonly testId?: string;
  readonly lines: ReadonlyArray<readonly [string, string, SeriesName]>;
}

type SeriesName = 'connected' | 'sessions' | 'received' | 'sent' | 'bytesIn' | 'bytesOut';

const CHARTS: readonly OverviewChart[] = [
  {
    title: 'Connections',
    testId: 'chart-connections',
    lines: [
      ['connected', '#2563eb', 'connected'],
      ['sessions', '#9333ea', 'sessions'],
    ],
  },
  {
    title: 'Messages per second',
    testId: 'chart-messages',
    lines: [
      ['received', '#059669', 'received'],
      ['sent', '#d97706', 'sent'],
    ],
  },
  {
    title: 'Bytes per second',
    unit: ' B',
    lines: [
      ['in', '#0891b2', 'bytesIn'],
      ['out', '#db2777', 'bytesOut'],
    ],
  },
];

export function Overview(props: { login: Login; sampler: Sampler }): preact.JSX.Element {
  const { sampler } = props;
  const [, setTick] = useState(0);
  const [listeners, setListeners] = useState<ListenerInfo[]>([]);
  const [version, setVersion] = useState('');
  useEffect(() => sampler.subscribe(() => setTick((t) => t + 1)), [sampler]);
  useEffect(() => {
    // The admin API's list counts each listener's connections; Mosquitto 2.1's is the fallback.
    void request<{ listeners: ListenerInfo[] }>(props.login, `${ADMIN}listeners`)
      .then((a) => (a.ok ? a : request<{ listeners: ListenerInfo[] }>(props.login, '/api/v1/listeners')))
      .then((a) => {
        if (a.ok) setListeners(a.body.listeners);
      });
    void request<string>(props.login, '/api/v1/version').then((a) => {
      if (a.ok) setVersion(a.text.trim());
    });
  }, [props.login]);
  const t = sampler.latest ?? {};
  const n = (k: string): number => t[`$SYS/broker/${k}`] ?? 0;
  const last = (a: number[]): number => a[a.length - 1] ?? 0;
  return (
    <div>
      <Notice error={sampler.error} />
      <div class="figures">
        <Figure label="clients connected" value={String(n('clients/connected'))} testId="figure-connected" />
        <Figure label="sessions" value={String(n('clients/total'))} />
        <Figure
          label="subscriptions"
          value={String(n('subscriptions/count') + n('shared_subscriptions/count'))}
        />
        <Figure label="retained messages" value={String(n('retained messages/count'))} />
        <Figure label="messages in / s" value={last(sampler.received).toFixed(1)} testId="figure-received" />
        <Figure label="messages out / s" value={last(sampler.sent).toFixed(1)} />
        <Figure label="heap" value={formatBytes(n('heap/current'))} />
        <Figure label="uptime" value={formatDuration(n('uptime'))} />
      </div>
      <div class="charts">
        {CHARTS.map((c) => (
          <Chart
            key={c.title}
            title={c.title}
            unit={c.unit}
            testId={c.testId}
            series={c.lines.map(([label, color]) => ({ label, color }))}
            data={[sampler.time, ...c.lines.map(([, , field]) => sampler[field])]}
          />
        ))}
      </div>
      <Panel title={`Listeners${version === '' ? '' : ` — Culex ${version}`}`}>
        <AnyTable rows={listeners as unknown as Record<string, unknown>[]} />
      </Panel>
    </div>
  );
}
