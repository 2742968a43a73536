// A panel over an admin endpoint that a given broker may not have (cluster nodes): the answer's list is shown
// as a table whatever its columns, a 404 as "not available".

import { useState } from 'preact/hooks';
import { type Login, problem, request } from './api.js';
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
