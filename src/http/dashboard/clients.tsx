// Clients: a paged list searched by client id, user or address (sessions of clients now offline included, as
// the admin API lists them), kick a connected one; a row opens the client's details (subscriptions, queue),
// where its session can be deleted or its queue purged.

import { useState } from 'preact/hooks';
import {
  ADMIN,
  type ClientDetails,
  type ClientSummary,
  encode,
  type Login,
  type Page,
  request,
} from './api.js';
import { FilterBox, PagedTable, usePaged } from './paged-table.js';
import { ConfirmButton, formatBytes, Notice, Panel, useResource } from './ui.js';

type ClientPage = Page & { clients: ClientSummary[] };

export function ClientList(props: { login: Login; onOpen: (clientId: string) => void }): preact.JSX.Element {
  const { login } = props;
  const [search, setSearch] = useState('');
  const list = usePaged<ClientPage>(
    login,
    (o) => `${ADMIN}clients?search=${encode(search)}&offset=${o}&limit=100`,
    2000,
  );
  const kick = async (id: string): Promise<void> =>
    list.changed(await request(login, `${ADMIN}clients/${encode(id)}`, 'DELETE'), `Disconnected ${id}.`);
  const remove = async (id: string): Promise<void> =>
    list.changed(
      await request(login, `${ADMIN}sessions/${encode(id)}`, 'DELETE'),
      `Deleted the session of ${id}.`,
    );

  return (
    <PagedTable
      title="Clients"
      actions={
        <FilterBox
          value={search}
          placeholder="client id, user or address"
          testId="client-search"
          live={true}
          onFilter={(v) => {
            setSearch(v);
            list.setOffset(0);
          }}
        />
      }
      list={list}
      testId="clients-table"
      headers={['client id', 'state', 'user', 'address', 'MQTT', 'subs', 'queued', 'in-flight', '']}
      rows={list.data?.clients ?? []}
      row={(c) => (
        <tr
          key={c.client_id}
          class="clickable"
          data-client={c.client_id}
          onClick={() => props.onOpen(c.client_id)}
        >
          <td class="mono">{c.client_id}</td>
          <td>
            <span class={c.connected ? 'badge on' : 'badge off'}>
              {c.connected ? 'connected' : 'offline'}
            </span>
          </td>
          <td>{c.username ?? '—'}</td>
          <td class="mono">{c.address ?? '—'}</td>
          <td>{protocolName(c.protocol_version)}</td>
          <td>{c.subscriptions}</td>
          <td>{c.queued}</td>
          <td>{c.inflight}</td>
          <td>
            {c.connected ? (
              <ConfirmButton
                label="Kick"
                testId={`kick-${c.client_id}`}
                onConfirm={() => void kick(c.client_id)}
              />
            ) : (
              <ConfirmButton
                label="Delete"
                testId={`delete-${c.client_id}`}
                onConfirm={() => void remove(c.client_id)}
              />
            )}
          </td>
        </tr>
      )}
      empty="No clients match."
    />
  );
}

function protocolName(version: number | null): string {
  if (version === 5) return '5.0';
  if (version === 4) return '3.1.1';
  if (version === 3) return '3.1';
  return '—';
}

export function ClientDetail(props: {
  login: Login;
  clientId: string;
  onClose: () => void;
}): preact.JSX.Element {
  const { login, clientId } = props;
  const {
    data: client,
    error,
    info,
    changed,
  } = useResource<ClientDetails>(login, `${ADMIN}clients/${encode(clientId)}`, 2000);
  const act = async (path: string, done: string): Promise<void> =>
    changed(await request(login, path, 'DELETE'), done);
  const rows: [string, string][] =
    client === undefined
      ? []
      : [
          ['state', client.connected ? 'connected' : 'offline'],
          ['user', client.username ?? '—'],
          ['address', client.address ?? '—'],
          ['listener port', String(client.listener_port ?? '—')],
          ['MQTT version', protocolName(client.protocol_version)],
          ['keepalive', client.keepalive === null ? '—' : `${client.keepalive} s`],
          ['connected at', client.connected_at ?? '—'],
          ['session expiry interval', `${client.session_expiry_interval} s`],
          ['queued', `${client.queued} (${formatBytes(client.queued_bytes)})`],
          ['in-flight', `${client.inflight} (${formatBytes(client.inflight_bytes)})`],
          ['dropped', String(client.dropped)],
        ];
  return (
    <Panel
      title={`Client ${clientId}`}
      actions={
        <>
          {client?.connected === true ? (
            <ConfirmButton
              label="Kick"
              onConfirm={() => void act(`${ADMIN}clients/${encode(clientId)}`, 'Disconnected.')}
            />
          ) : null}
          {client !== undefined && client.queued > 0 ? (
            <ConfirmButton
              label="Purge queue"
              onConfirm={() => void act(`${ADMIN}sessions/${encode(clientId)}/queue`, 'Queue purged.')}
            />
          ) : null}
          {client?.connected === false ? (
            <ConfirmButton
              label="Delete session"
              onConfirm={() => void act(`${ADMIN}sessions/${encode(clientId)}`, 'Session deleted.')}
            />
          ) : null}
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </>
      }
    >
      {/* After Delete session the client is gone (404): say what was done, not that it is missing. */}
      <Notice error={client === undefined && info !== undefined ? undefined : error} info={info} />
      {client === undefined ? null : (
        <div class="detail" data-testid="client-detail">
          <dl>
            {rows.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
          <h3>Subscriptions</h3>
          <table>
            <thead>
              <tr>
                <th>filter</th>
                <th>QoS</th>
                <th>no local</th>
                <th>retain as published</th>
                <th>retain handling</th>
              </tr>
            </thead>
            <tbody>
              {client.subscriptions_list.map((s) => (
                <tr key={s.filter}>
                  <td class="mono">{s.filter}</td>
                  <td>{s.qos}</td>
                  <td>{s.no_local ? 'yes' : 'no'}</td>
                  <td>{s.retain_as_published ? 'yes' : 'no'}</td>
                  <td>{s.retain_handling}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Panel>
  );
}
