// The paged lists of the dashboard (clients, sessions, subscriptions, retained messages) in one frame: a panel
// with its filter controls, a line of news, the table of one page, a word when nothing matches, the pager.

import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { Login, Page } from './api.js';
import { Notice, Pager, Panel, type Resource, useResource } from './ui.js';

/** A paged resource polled every `ms`: `at(offset)` is the address of a page; a new filter sets offset 0. */
export function usePaged<T>(login: Login, at: (offset: number) => string, ms: number): Paged<T> {
  const [offset, setOffset] = useState(0);
  return { ...useResource<T>(login, at(offset), ms), setOffset };
}

export type Paged<T> = Resource<T> & { setOffset: (offset: number) => void };

export function PagedTable<R>(props: {
  title: string;
  /** The filter controls, in the panel's header. */
  actions: ComponentChildren;
  /** The page as the API answered it (undefined until then), with its error or news line. */
  list: Paged<Page | undefined>;
  testId: string;
  /** Column titles; '' for a column of buttons. */
  headers: readonly string[];
  rows: readonly R[];
  row: (item: R) => preact.JSX.Element;
  empty: ComponentChildren;
}): preact.JSX.Element {
  const { data, error, info, setOffset } = props.list;
  return (
    <Panel title={props.title} actions={props.actions}>
      <Notice error={error} info={info} />
      <table data-testid={props.testId}>
        <thead>
          <tr>{props.headers.map((h, i) => (h === '' ? <th key={i} /> : <th key={h}>{h}</th>))}</tr>
        </thead>
        <tbody>{props.rows.map(props.row)}</tbody>
      </table>
      {data !== undefined && props.rows.length === 0 ? <p class="empty">{props.empty}</p> : null}
      <Pager page={data} onOffset={setOffset} />
    </Panel>
  );
}

/**
 * A search box: `onFilter` runs as one types when `live`, else when the value is committed (Enter, leaving the
 * box), for filters that are costly or invalid while half typed.
 */
export function FilterBox(props: {
  value: string;
  placeholder: string;
  testId?: string;
  live: boolean;
  onFilter: (value: string) => void;
}): preact.JSX.Element {
  const handler = (e: { currentTarget: HTMLInputElement }): void => props.onFilter(e.currentTarget.value);
  return (
    <input
      type="search"
      placeholder={props.placeholder}
      data-testid={props.testId}
      value={props.value}
      onInput={props.live ? handler : undefined}
      onChange={props.live ? undefined : handler}
    />
  );
}
