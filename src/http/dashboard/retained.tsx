// The retained-message browser: messages matching a topic filter, their payload as text (or hex), delete one.

import { useState } from 'preact/hooks';
import {
  ADMIN,
  base64Bytes,
  encode,
  type Login,
  type Page,
  payloadText,
  type RetainedInfo,
  request,
} from './api.js';
import { FilterBox, PagedTable, usePaged } from './paged-table.js';
import { ConfirmButton } from './ui.js';

type RetainedPage = Page & { messages: RetainedInfo[] };

export function RetainedBrowser(props: { login: Login }): preact.JSX.Element {
  const { login } = props;
  const [filter, setFilter] = useState('#');
  const list = usePaged<RetainedPage>(
    login,
    (o) => `${ADMIN}retained?filter=${encode(filter)}&offset=${o}&limit=100`,
    3000,
  );
  const remove = async (topic: string): Promise<void> =>
    list.changed(
      await request(login, `${ADMIN}retained/${encode(topic)}`, 'DELETE'),
      `Deleted the retained message of ${topic}.`,
    );
  return (
    <PagedTable
      title="Retained messages"
      actions={
        <FilterBox
          value={filter}
          placeholder="topic filter"
          testId="retained-filter"
          live={false}
          onFilter={(v) => {
            setFilter(v === '' ? '#' : v);
            list.setOffset(0);
          }}
        />
      }
      list={list}
      testId="retained-table"
      headers={['topic', 'QoS', 'bytes', 'payload', '']}
      rows={list.data?.messages ?? []}
      row={(m) => (
        <tr key={m.topic}>
          <td class="mono">{m.topic}</td>
          <td>{m.qos}</td>
          <td>{m.payload_bytes}</td>
          <td class="mono payload">{payloadText(base64Bytes(m.payload_base64))}</td>
          <td>
            <ConfirmButton label="Delete" onConfirm={() => void remove(m.topic)} />
          </td>
        </tr>
      )}
      empty={<>No retained message matches {filter}.</>}
    />
  );
}
