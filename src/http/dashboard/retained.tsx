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
import { ConfirmButton, Notice, Pager, Panel, useResource } from './ui.js';

type RetainedPage = Page & { messages: RetainedInfo[] };

export function RetainedBrowser(props: { login: Login }): preact.JSX.Element {
  const { login } = props;
  const [filter, setFilter] = useState('#');
  const [offset, setOffset] = useState(0);
  const {
    data: list,
    error,
    info,
    changed,
  } = useResource<RetainedPage>(
    login,
    `${ADMIN}retained?filter=${encode(filter)}&offset=${offset}&limit=100`,
    3000,
  );
  const remove = async (topic: string): Promise<void> =>
    changed(
      await request(login, `${ADMIN}retained/${encode(topic)}`, 'DELETE'),
      `Deleted the retained message of ${topic}.`,
    );
  return (
    <Panel
      title="Retained messages"
      actions={
        <input
          type="search"
          placeholder="topic filter"
          data-testid="retained-filter"
          value={filter}
          onChange={(e) => {
            setFilter(e.currentTarget.value === '' ? '#' : e.currentTarget.value);
            setOffset(0);
          }}
        />
      }
    >
      <Notice error={error} info={info} />
      <table data-testid="retained-table">
        <thead>
          <tr>
            <th>topic</th>
            <th>QoS</th>
            <th>bytes</th>
            <th>payload</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {(list?.messages ?? []).map((m) => (
            <tr key={m.topic}>
              <td class="mono">{m.topic}</td>
              <td>{m.qos}</td>
              <td>{m.payload_bytes}</td>
              <td class="mono payload">{payloadText(base64Bytes(m.payload_base64))}</td>
              <td>
                <ConfirmButton label="Delete" onConfirm={() => void remove(m.topic)} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {list !== undefined && list.messages.length === 0 ? (
        <p class="empty">No retained message matches {filter}.</p>
      ) : null}
      <Pager page={list} onOffset={setOffset} />
    </Panel>
  );
}
