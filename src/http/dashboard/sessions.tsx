// Sessions, online and offline (an offline session lives for its Session Expiry Interval): when it went
// offline and when it will expire, its queue; delete an offline one, purge a queue.

import { useState } from 'preact/hooks';
import { ADMIN, encode, type Login, type Page, request } from './api.js';
import { ConfirmButton, formatBytes, Notice, Pager, Panel, useResource } from './ui.js';

interface SessionInfo {
  client_id: string;
  online: boolean;
  username: string | null;
  expiry_interval: number;
  disconnected_at: string | null;
  expires_at: string | null;
  subscriptions: number;
  queued: number;
  queued_bytes: number;
  inflight: number;
  dropped: number;
}

type SessionPage = Page & { sessions: SessionInfo[] };

/** 0xFFFFFFFF: the session never expires [MQTT-3.1.2-23] (5.0). */
const NEVER = 0xffffffff;

function when(iso: string | null): string {
  return iso === null ? '—' : new Date(iso).toLocaleString();
}

export function SessionList(props: { login: Login; onOpen: (clientId: string) => void }): preact.JSX.Element {
  const { login } = props;
  const [state, setState] = useState<'all' | 'online' | 'offline'>('all');
  const [search, setSearch] = useState('');
  const [offset, setOffset] = useState(0);
  const { data, error, info, changed } = useResource<SessionPage>(
    login,
    `${ADMIN}sessions?state=${state}&search=${encode(search)}&offset=${offset}&limit=100`,
    2000,
  );
  const remove = async (id: string): Promise<void> =>
    changed(
      await request(login, `${ADMIN}sessions/${encode(id)}`, 'DELETE'),
      `Deleted the session of ${id}.`,
    );
  const purge = async (id: string): Promise<void> =>
    changed(
      await request(login, `${ADMIN}sessions/${encode(id)}/queue`, 'DELETE'),
      `Purged the queue of ${id}.`,
    );
  return (
    <Panel
      title="Sessions"
      actions={
        <>
          <select
            data-testid="session-state"
            value={state}
            onChange={(e) => {
              setState(e.currentTarget.value as 'all' | 'online' | 'offline');
              setOffset(0);
            }}
          >
            <option value="all">online and offline</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
          </select>
          <input
            type="search"
            placeholder="client id, user or address"
            value={search}
            onInput={(e) => {
              setSearch(e.currentTarget.value);
              setOffset(0);
            }}
          />
        </>
      }
    >
      <Notice error={error} info={info} />
      <table data-testid="sessions-table">
        <thead>
          <tr>
            <th>client id</th>
            <th>state</th>
            <th>user</th>
            <th>expiry interval</th>
            <th>offline since</th>
            <th>expires</th>
            <th>subs</th>
            <th>queued</th>
            <th>in-flight</th>
            <th>dropped</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(data?.sessions ?? []).map((s) => (
            <tr
              key={s.client_id}
              class="clickable"
              data-client={s.client_id}
              onClick={() => props.onOpen(s.client_id)}
            >
              <td class="mono">{s.client_id}</td>
              <td>
                <span class={s.online ? 'badge on' : 'badge off'}>{s.online ? 'online' : 'offline'}</span>
              </td>
              <td>{s.username ?? '—'}</td>
              <td>{s.expiry_interval === NEVER ? 'never' : `${s.expiry_interval} s`}</td>
              <td>{when(s.disconnected_at)}</td>
              <td>{when(s.expires_at)}</td>
              <td>{s.subscriptions}</td>
              <td>
                {s.queued} ({formatBytes(s.queued_bytes)})
              </td>
              <td>{s.inflight}</td>
              <td>{s.dropped}</td>
              <td class="buttons">
                {s.queued > 0 ? (
                  <ConfirmButton label="Purge queue" onConfirm={() => void purge(s.client_id)} />
                ) : null}
                {s.online ? null : (
                  <ConfirmButton
                    label="Delete"
                    testId={`delete-${s.client_id}`}
                    onConfirm={() => void remove(s.client_id)}
                  />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data !== undefined && data.sessions.length === 0 ? <p class="empty">No sessions match.</p> : null}
      <Pager page={data} onOffset={setOffset} />
    </Panel>
  );
}
