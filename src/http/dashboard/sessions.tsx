// Sessions, online and offline (an offline session lives for its Session Expiry Interval): when it went
// offline and when it will expire, its queue; delete an offline one, purge a queue.

import { useState } from 'preact/hooks';
import { ADMIN, encode, type Login, type Page, request } from './api.js';
import { FilterBox, PagedTable, usePaged } from './paged-table.js';
import { ConfirmButton, formatBytes } from './ui.js';

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
  const list = usePaged<SessionPage>(
    login,
    (o) => `${ADMIN}sessions?state=${state}&search=${encode(search)}&offset=${o}&limit=100`,
    2000,
  );
  const remove = async (id: string): Promise<void> =>
    list.changed(
      await request(login, `${ADMIN}sessions/${encode(id)}`, 'DELETE'),
      `Deleted the session of ${id}.`,
    );
  const purge = async (id: string): Promise<void> =>
    list.changed(
      await request(login, `${ADMIN}sessions/${encode(id)}/queue`, 'DELETE'),
      `Purged the queue of ${id}.`,
    );
  return (
    <PagedTable
      title="Sessions"
      actions={
        <>
          <select
            data-testid="session-state"
            value={state}
            onChange={(e) => {
              setState(e.currentTarget.value as 'all' | 'online' | 'offline');
              list.setOffset(0);
            }}
          >
            <option value="all">online and offline</option>
            <option value="online">online</option>
            <option value="offline">offline</option>
          </select>
          <FilterBox
            value={search}
            placeholder="client id, user or address"
            live={true}
            onFilter={(v) => {
              setSearch(v);
              list.setOffset(0);
            }}
          />
        </>
      }
      list={list}
      testId="sessions-table"
      headers={[
        'client id',
        'state',
        'user',
        'expiry interval',
        'offline since',
        'expires',
        'subs',
        'queued',
        'in-flight',
        'dropped',
        '',
      ]}
      rows={list.data?.sessions ?? []}
      row={(s) => (
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
      )}
      empty="No sessions match."
    />
  );
}
