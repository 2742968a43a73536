// Bridges (Mosquitto's `connection` sections): state, remote address, traffic counters; stop one (it stays
// down until started) or start it again.

import { ADMIN, encode, type Login, request } from './api.js';
import { ConfirmButton, formatBytes, Notice, Panel, useResource } from './ui.js';

interface BridgeInfo {
  name: string;
  state: string;
  address: string | null;
  connects: number;
  messages_in: number;
  messages_out: number;
  bytes_in: number;
  bytes_out: number;
  unmapped: number;
  queued: number;
  dropped: number;
}

export function BridgeList(props: { login: Login }): preact.JSX.Element {
  const { login } = props;
  const { data, error, info, changed } = useResource<{ bridges: BridgeInfo[] }>(
    login,
    `${ADMIN}bridges`,
    2000,
  );
  const flip = async (name: string, to: 'start' | 'stop'): Promise<void> =>
    changed(
      await request(login, `${ADMIN}bridges/${encode(name)}/${to}`, 'POST'),
      `${to === 'start' ? 'Started' : 'Stopped'} bridge ${name}.`,
    );
  return (
    <Panel title="Bridges">
      <Notice error={error} info={info} />
      <table data-testid="bridges">
        <thead>
          <tr>
            <th>name</th>
            <th>state</th>
            <th>remote</th>
            <th>connects</th>
            <th>messages in / out</th>
            <th>bytes in / out</th>
            <th>queued</th>
            <th>dropped</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data?.bridges ?? []).map((b) => (
            <tr key={b.name} data-bridge={b.name}>
              <td class="mono">{b.name}</td>
              <td>
                <span class={b.state === 'up' ? 'badge on' : 'badge off'}>{b.state}</span>
              </td>
              <td class="mono">{b.address ?? '—'}</td>
              <td>{b.connects}</td>
              <td>
                {b.messages_in} / {b.messages_out}
              </td>
              <td>
                {formatBytes(b.bytes_in)} / {formatBytes(b.bytes_out)}
              </td>
              <td>{b.queued}</td>
              <td>{b.dropped}</td>
              <td>
                {b.state === 'stopped' ? (
                  <ConfirmButton label="Start" onConfirm={() => void flip(b.name, 'start')} />
                ) : (
                  <ConfirmButton label="Stop" onConfirm={() => void flip(b.name, 'stop')} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data !== undefined && data.bridges.length === 0 ? (
        <p class="empty">No bridges: this broker's configuration has no connection sections.</p>
      ) : null}
    </Panel>
  );
}
