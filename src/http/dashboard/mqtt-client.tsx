// An MQTT client in the page, over the broker's WebSocket listener, as MQTTX's web client is: connect with a
// user and password, subscribe, publish, and see messages as they arrive. It uses the browser build of the
// `mqtt` package, loaded on first use (its own chunk of the bundle).

import { useEffect, useRef, useState } from 'preact/hooks';
import { type ListenerInfo, type Login, payloadText, request } from './api.js';
import { Notice, Panel } from './ui.js';

/** The newest messages the page keeps; older ones are dropped from the list. */
export const MESSAGES_KEPT = 500;

type Qos = 0 | 1 | 2;

/** What the page uses of mqtt.js's MqttClient. */
interface BrowserClient {
  on(event: 'connect', cb: () => void): void;
  on(event: 'close' | 'offline', cb: () => void): void;
  on(event: 'error', cb: (e: Error) => void): void;
  on(
    event: 'message',
    cb: (topic: string, payload: Uint8Array, packet: { qos: number; retain: boolean }) => void,
  ): void;
  subscribeAsync(filter: string, opts: { qos: Qos }): Promise<{ qos: number }[]>;
  unsubscribeAsync(filter: string): Promise<unknown>;
  publishAsync(topic: string, payload: string, opts: { qos: Qos; retain: boolean }): Promise<unknown>;
  end(force?: boolean): void;
}

interface Received {
  readonly n: number;
  readonly at: string;
  readonly topic: string;
  readonly qos: number;
  readonly retain: boolean;
  readonly payload: string;
}

function defaultUrl(listeners: readonly ListenerInfo[]): string {
  const ws = listeners.find((l) => l.protocol === 'websockets' && l.port !== undefined);
  const host = location.hostname.includes(':') ? `[${location.hostname}]` : location.hostname;
  if (ws === undefined) return `ws://${host}:9001/`;
  return `${ws.tls ? 'wss' : 'ws'}://${host}:${ws.port}/`;
}

export function MqttClientPanel(props: { login: Login }): preact.JSX.Element {
  const [url, setUrl] = useState('');
  const [clientId, setClientId] = useState(`culex-dashboard-${Math.random().toString(16).slice(2, 8)}`);
  // The MQTT login starts as the dashboard's (a token is no MQTT password).
  const [user, setUser] = useState(props.login.kind === 'basic' ? props.login.user : '');
  const [password, setPassword] = useState(props.login.kind === 'basic' ? props.login.password : '');
  const [version, setVersion] = useState<4 | 5>(5);
  const [state, setState] = useState<'disconnected' | 'connecting' | 'connected'>('disconnected');
  const [error, setError] = useState<string | undefined>();
  const [filter, setFilter] = useState('#');
  const [subQos, setSubQos] = useState<Qos>(0);
  const [subscriptions, setSubscriptions] = useState<{ filter: string; qos: number }[]>([]);
  const [topic, setTopic] = useState('culex/dashboard');
  const [payload, setPayload] = useState('hello from the dashboard');
  const [pubQos, setPubQos] = useState<Qos>(0);
  const [retain, setRetain] = useState(false);
  const [messages, setMessages] = useState<Received[]>([]);
  const client = useRef<BrowserClient | null>(null);
  const counter = useRef(0);

  useEffect(() => {
    void request<{ listeners: ListenerInfo[] }>(props.login, '/api/v1/listeners').then((a) =>
      setUrl((u) => (u !== '' ? u : defaultUrl(a.ok ? a.body.listeners : []))),
    );
    return () => client.current?.end(true);
  }, [props.login]);

  const connect = async (): Promise<void> => {
    setError(undefined);
    setState('connecting');
    const mqtt = (await import('mqtt')).default as unknown as {
      connect(url: string, opts: Record<string, unknown>): BrowserClient;
    };
    const c = mqtt.connect(url, {
      clientId,
      protocolVersion: version,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...(user === '' ? {} : { username: user, password }),
    });
    client.current = c;
    c.on('connect', () => setState('connected'));
    c.on('error', (e) => setError(e.message));
    c.on('close', () => {
      setState('disconnected');
      setSubscriptions([]);
    });
    c.on('message', (t, p, packet) => {
      const n = ++counter.current;
      const m: Received = {
        n,
        at: new Date().toLocaleTimeString(),
        topic: t,
        qos: packet.qos,
        retain: packet.retain,
        payload: payloadText(p, 2000),
      };
      setMessages((list) => [m, ...list.slice(0, MESSAGES_KEPT - 1)]);
    });
  };

  const disconnect = (): void => {
    client.current?.end();
    client.current = null;
    setState('disconnected');
  };

  const subscribe = async (): Promise<void> => {
    const c = client.current;
    if (c === null) return;
    try {
      const granted = await c.subscribeAsync(filter, { qos: subQos });
      const code = granted[0]?.qos ?? 128;
      if (code >= 128) setError(`subscription to ${filter} refused (reason ${code})`);
      else setSubscriptions((s) => [...s.filter((x) => x.filter !== filter), { filter, qos: code }]);
    } catch (e) {
      setError(String(e));
    }
  };

  const unsubscribe = async (f: string): Promise<void> => {
    await client.current?.unsubscribeAsync(f);
    setSubscriptions((s) => s.filter((x) => x.filter !== f));
  };

  const publish = async (): Promise<void> => {
    try {
      await client.current?.publishAsync(topic, payload, { qos: pubQos, retain });
    } catch (e) {
      setError(String(e));
    }
  };

  const connected = state === 'connected';
  return (
    <div class="mqtt">
      <Panel
        title="Connection"
        actions={
          <span class={connected ? 'badge on' : 'badge off'} data-testid="mqtt-state">
            {state}
          </span>
        }
      >
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            if (state === 'disconnected') void connect();
            else disconnect();
          }}
        >
          <label>
            WebSocket URL
            <input
              data-testid="mqtt-url"
              value={url}
              onInput={(e) => setUrl(e.currentTarget.value)}
              size={28}
            />
          </label>
          <label>
            client id
            <input value={clientId} onInput={(e) => setClientId(e.currentTarget.value)} />
          </label>
          <label>
            user
            <input value={user} autocomplete="username" onInput={(e) => setUser(e.currentTarget.value)} />
          </label>
          <label>
            password
            <input
              type="password"
              autocomplete="current-password"
              data-testid="mqtt-password"
              value={password}
              onInput={(e) => setPassword(e.currentTarget.value)}
            />
          </label>
          <label>
            MQTT
            <select value={version} onChange={(e) => setVersion(e.currentTarget.value === '4' ? 4 : 5)}>
              <option value="5">5.0</option>
              <option value="4">3.1.1</option>
            </select>
          </label>
          <button type="submit" data-testid="mqtt-connect">
            {state === 'disconnected' ? 'Connect' : 'Disconnect'}
          </button>
        </form>
        <div data-testid="mqtt-error">
          <Notice error={error} />
        </div>
      </Panel>
      <div class="two">
        <Panel title="Subscribe">
          <form
            class="row"
            onSubmit={(e) => {
              e.preventDefault();
              void subscribe();
            }}
          >
            <input
              data-testid="mqtt-filter"
              value={filter}
              onInput={(e) => setFilter(e.currentTarget.value)}
            />
            <QosSelect value={subQos} onChange={setSubQos} />
            <button type="submit" disabled={!connected} data-testid="mqtt-subscribe">
              Subscribe
            </button>
          </form>
          <ul class="subs" data-testid="mqtt-subscriptions">
            {subscriptions.map((s) => (
              <li key={s.filter}>
                <span class="mono">{s.filter}</span> QoS {s.qos}{' '}
                <button type="button" onClick={() => void unsubscribe(s.filter)}>
                  Unsubscribe
                </button>
              </li>
            ))}
          </ul>
        </Panel>
        <Panel title="Publish">
          <form
            class="column"
            onSubmit={(e) => {
              e.preventDefault();
              void publish();
            }}
          >
            <input data-testid="mqtt-topic" value={topic} onInput={(e) => setTopic(e.currentTarget.value)} />
            <textarea
              data-testid="mqtt-payload"
              rows={3}
              value={payload}
              onInput={(e) => setPayload(e.currentTarget.value)}
            />
            <div class="row">
              <QosSelect value={pubQos} onChange={setPubQos} />
              <label class="check">
                <input
                  type="checkbox"
                  checked={retain}
                  onChange={(e) => setRetain(e.currentTarget.checked)}
                />
                retain
              </label>
              <button type="submit" disabled={!connected} data-testid="mqtt-publish">
                Publish
              </button>
            </div>
          </form>
        </Panel>
      </div>
      <Panel
        title={`Messages (${messages.length})`}
        actions={
          <button type="button" onClick={() => setMessages([])}>
            Clear
          </button>
        }
      >
        <table data-testid="mqtt-messages">
          <thead>
            <tr>
              <th>#</th>
              <th>time</th>
              <th>topic</th>
              <th>QoS</th>
              <th>retained</th>
              <th>payload</th>
            </tr>
          </thead>
          <tbody>
            {messages.map((m) => (
              <tr key={m.n}>
                <td>{m.n}</td>
                <td>{m.at}</td>
                <td class="mono">{m.topic}</td>
                <td>{m.qos}</td>
                <td>{m.retain ? 'yes' : ''}</td>
                <td class="mono payload">{m.payload}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Panel>
    </div>
  );
}

function QosSelect(props: { value: Qos; onChange: (q: Qos) => void }): preact.JSX.Element {
  return (
    <select value={props.value} onChange={(e) => props.onChange(Number(e.currentTarget.value) as Qos)}>
      <option value="0">QoS 0</option>
      <option value="1">QoS 1</option>
      <option value="2">QoS 2</option>
    </select>
  );
}
