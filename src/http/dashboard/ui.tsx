// Small pieces every panel uses: polling, a pager for the admin API's offset/limit lists, a button that asks
// once more before a change (and is off for a read-only user), and a table of whatever objects an endpoint
// answers (for panels whose shape the dashboard does not know in advance).

import { type ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { type Answer, type Login, type Page, problem, request } from './api.js';

/** Calls `tick` now and every `ms` while the component is shown and the tab visible (and when `deps` change). */
export function usePoll(tick: () => void | Promise<void>, ms: number, deps: readonly unknown[]): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      try {
        // A hidden tab costs the broker nothing (each list is a pass over its sessions).
        if (!document.hidden) await latest.current();
      } catch {
        // The panel shows its own error; keep polling.
      }
      if (!stopped) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
    };
  }, deps);
}

export function Pager(props: {
  page: Page | undefined;
  onOffset: (offset: number) => void;
}): preact.JSX.Element | null {
  const page = props.page;
  if (page === undefined || page.total <= page.limit) return null;
  const last = Math.min(page.offset + page.limit, page.total);
  return (
    <div class="pager">
      <button
        type="button"
        disabled={page.offset === 0}
        onClick={() => props.onOffset(Math.max(0, page.offset - page.limit))}
      >
        ‹ Previous
      </button>
      <span>
        {page.offset + 1}–{last} of {page.total}
      </span>
      <button
        type="button"
        disabled={last >= page.total}
        onClick={() => props.onOffset(page.offset + page.limit)}
      >
        Next ›
      </button>
    </div>
  );
}

/** What the signed-in user may do (GET /me): with `read`, every change button is disabled. */
export type Role = 'read' | 'admin';
export const RoleContext = createContext<Role>('admin');

/**
 * A button that turns into "Confirm …" on the first click and acts on the second (no modal dialog); disabled
 * for a user with the read role.
 */
export function ConfirmButton(props: {
  label: string;
  onConfirm: () => void;
  testId?: string;
}): preact.JSX.Element {
  const role = useContext(RoleContext);
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    if (!armed) return;
    const t = setTimeout(() => setArmed(false), 4000);
    return () => clearTimeout(t);
  }, [armed]);
  return (
    <button
      type="button"
      class={armed ? 'danger armed' : 'danger'}
      data-testid={props.testId}
      disabled={role !== 'admin'}
      title={role === 'admin' ? undefined : 'needs the admin role'}
      onClick={(e) => {
        e.stopPropagation();
        if (armed) {
          setArmed(false);
          props.onConfirm();
        } else setArmed(true);
      }}
    >
      {armed ? `Confirm ${props.label.toLowerCase()}` : props.label}
    </button>
  );
}

export function Notice(props: {
  error?: string | undefined;
  info?: string | undefined;
}): preact.JSX.Element | null {
  if (props.error !== undefined) return <p class="error">{props.error}</p>;
  if (props.info !== undefined) return <p class="info">{props.info}</p>;
  return null;
}

export function Panel(props: {
  title: string;
  actions?: ComponentChildren;
  children: ComponentChildren;
}): preact.JSX.Element {
  return (
    <section class="panel">
      <header>
        <h2>{props.title}</h2>
        <div class="actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Rows of any objects, one column per key seen. */
export function AnyTable(props: { rows: readonly Record<string, unknown>[] }): preact.JSX.Element {
  const columns: string[] = [];
  for (const row of props.rows)
    for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
  return (
    <table>
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c}>{c}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {/* Rows of an unknown shape have no id of their own: the index is the key. */}
        {props.rows.map((row, i) => (
          <tr key={i}>
            {columns.map((c) => (
              <td key={c}>{cell(row[c])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

export function formatDuration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  return `${m}m ${s}s`;
}

/** What a panel over one admin API resource holds: the last answer, a line of error or news, a reload. */
export interface Resource<T> {
  readonly data: T | undefined;
  readonly error: string | undefined;
  readonly info: string | undefined;
  /** Shows the outcome of a change (`done` on success, the API's error otherwise) and reloads. */
  readonly changed: (answer: Answer<unknown>, done: string) => void;
}

/** Polls GET `path` every `ms` (and at once when the path changes or after a change). */
export function useResource<T>(login: Login, path: string, ms: number): Resource<T> {
  const [data, setData] = useState<T | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [info, setInfo] = useState<string | undefined>();
  const [reload, setReload] = useState(0);
  usePoll(
    async () => {
      const a = await request<T>(login, path);
      if (a.ok) {
        setData(a.body);
        setError(undefined);
      } else {
        setData(undefined);
        setError(problem(a));
      }
    },
    ms,
    [path, reload],
  );
  const changed = (a: Answer<unknown>, done: string): void => {
    if (a.ok) {
      setInfo(done);
      setError(undefined);
    } else setError(problem(a));
    setReload((r) => r + 1);
  };
  return { data, error, info, changed };
}
