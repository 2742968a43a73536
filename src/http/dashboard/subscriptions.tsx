// The subscription browser: every client's subscriptions, narrowed to those a topic filter covers, those a
// message on a topic would reach, or one client's (the admin API's /subscriptions, paged).

import { useState } from 'preact/hooks';
import { ADMIN, encode, type Login, type Page } from './api.js';
import { FilterBox, PagedTable, usePaged } from './paged-table.js';

interface SubscriptionRow {
  client_id: string;
  online: boolean;
  filter: string;
  share_group: string | null;
  qos: number;
  no_local: boolean;
  retain_as_published: boolean;
  retain_handling: number;
  identifier: number | null;
}

type SubscriptionPage = Page & { subscriptions: SubscriptionRow[] };

export function SubscriptionBrowser(props: {
  login: Login;
  onOpen: (clientId: string) => void;
}): preact.JSX.Element {
  const [by, setBy] = useState<'filter' | 'topic' | 'client_id'>('filter');
  const [text, setText] = useState('');
  const query = text === '' ? '' : `&${by}=${encode(text)}`;
  const list = usePaged<SubscriptionPage>(
    props.login,
    (o) => `${ADMIN}subscriptions?offset=${o}&limit=100${query}`,
    3000,
  );
  return (
    <PagedTable
      title="Subscriptions"
      actions={
        <>
          <select
            value={by}
            onChange={(e) => {
              setBy(e.currentTarget.value as 'filter' | 'topic' | 'client_id');
              list.setOffset(0);
            }}
          >
            <option value="filter">covered by filter</option>
            <option value="topic">reached by topic</option>
            <option value="client_id">of client</option>
          </select>
          <FilterBox
            value={text}
            placeholder={by === 'filter' ? 'sensors/#' : by === 'topic' ? 'sensors/1/temp' : 'client id'}
            testId="subscription-query"
            live={false}
            onFilter={(v) => {
              setText(v);
              list.setOffset(0);
            }}
          />
        </>
      }
      list={list}
      testId="subscriptions"
      headers={[
        'client id',
        'filter',
        'share group',
        'QoS',
        'no local',
        'retain as published',
        'retain handling',
        'identifier',
      ]}
      rows={list.data?.subscriptions ?? []}
      row={(s) => (
        <tr
          key={`${s.client_id} ${s.share_group ?? ''} ${s.filter}`}
          class="clickable"
          onClick={() => props.onOpen(s.client_id)}
        >
          <td class="mono">
            <span class={s.online ? 'dot on' : 'dot off'} />
            {s.client_id}
          </td>
          <td class="mono">{s.filter}</td>
          <td>{s.share_group ?? '—'}</td>
          <td>{s.qos}</td>
          <td>{s.no_local ? 'yes' : 'no'}</td>
          <td>{s.retain_as_published ? 'yes' : 'no'}</td>
          <td>{s.retain_handling}</td>
          <td>{s.identifier ?? '—'}</td>
        </tr>
      )}
      empty="No subscriptions match."
    />
  );
}
