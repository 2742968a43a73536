// Panels over admin endpoints that a given broker may not have (bridges, cluster nodes, the subscriptions list
// across clients): the answer's list is shown as a table whatever its columns, a 404 as "not available".

import { useState } from 'preact/hooks';
import {
  ADMIN,
  type ClientDetails,
  type ClientSummary,
  encode,
  type Login,
  problem,
  request,
} from './api.js';
import { AnyTable, Notice, Panel, usePoll } from './ui.js';

/** The first list in an answer (`{"bridges": [...]}`, `{"nodes": [...]}`), or the answer itself if it is one. */
function rowsOf(body: unknown): Record<string, unknown>[] | undefined {
  if (Array.isArray(body)) return body as Record<string, unknown>[];
  if (typeof body !== 'object' || body === null) return undefined;
  for (const value of Object.values(body))
    if (Array.isArray(value)) return value as Record<string, unknown>[];
  return [body as Record<string, unknown>];
}

export function EndpointPanel(props: {
  login: Login;
  title: string;
  path: string;
  what: string;
}): preact.JSX.Element {
  const [rows, setRows] = useState<Record<string, unknown>[] | undefined>();
  const [missing, setMissing] = useState(false);
  const [error, setError] = useState<string | undefined>();
  usePoll(
    async () => {
      const a = await request<unknown>(props.login, props.path);
      setMissing(a.status === 404);
      if (a.ok) {
        setRows(rowsOf(a.body));
        setError(undefined);
      } else if (a.status !== 404) setError(problem(a));
    },
    3000,
    [props.path],
  );
  return (
    <Panel title={props.title}>
      <Notice error={error} />
      {missing ? (
        <p class="unavailable" data-testid="not-available">
          Not available: this broker answers 404 for {props.path} ({props.what}).
        </p>
      ) : rows === undefined ? null : rows.length === 0 ? (
        <p class="empty">None.</p>
      ) : (
        <AnyTable rows={rows} />
      )}
    </Panel>
  );
}

interface Row extends Record<string, unknown> {
  client_id: string;
  filter: string;
  qos: number;
}

/**
 * Subscriptions across clients: the admin API's own list when it has one; else gathered from the details of
 * the clients (first 100 with subscriptions) that match the search.
 */
export function SubscriptionBrowser(props: { login: Login }): preact.JSX.Element {
  const { login } = props;
  const [filter, setFilter] = useState('');
  const [rows, setRows] = useState<Record<string, unknown>[]>([]);
  const [source, setSource] = useState('');
  const [error, setError] = useState<string | undefined>();
  usePoll(
    async () => {
      const direct = await request<unknown>(
        login,
        `${ADMIN}subscriptions?filter=${encode(filter || '#')}&limit=1000`,
      );
      if (direct.ok) {
        setRows(rowsOf(direct.body) ?? []);
        setSource(`${ADMIN}subscriptions`);
        setError(undefined);
        return;
      }
      if (direct.status !== 404) {
        setError(problem(direct));
        return;
      }
      const list = await request<{ clients: ClientSummary[] }>(login, `${ADMIN}clients?limit=1000`);
      if (!list.ok) {
        setError(problem(list));
        return;
      }
      const withSubs = list.body.clients.filter((c) => c.subscriptions > 0).slice(0, 100);
      const details = await Promise.all(
        withSubs.map((c) => request<ClientDetails>(login, `${ADMIN}clients/${encode(c.client_id)}`)),
      );
      const gathered: Row[] = [];
      for (const d of details) {
        if (!d.ok) continue;
        for (const s of d.body.subscriptions_list)
          if (filter === '' || s.filter.includes(filter))
            gathered.push({ client_id: d.body.client_id, ...s } as Row);
      }
      setRows(gathered);
      setSource('client details (the first 100 clients with subscriptions)');
      setError(undefined);
    },
    3000,
    [filter],
  );
  return (
    <Panel
      title="Subscriptions"
      actions={
        <input
          type="search"
          placeholder="filter contains"
          value={filter}
          onChange={(e) => setFilter(e.currentTarget.value)}
        />
      }
    >
      <Notice error={error} />
      <div data-testid="subscriptions">
        {rows.length === 0 ? <p class="empty">No subscriptions.</p> : <AnyTable rows={rows} />}
      </div>
      <p class="source">From {source}.</p>
    </Panel>
  );
}
