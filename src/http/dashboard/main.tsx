// Culex's dashboard: a login form, then panels chosen by the URL's hash (#/clients, #/clients/ID, ...). Every
// figure comes from the http_api listener that served the page, with the user's HTTP basic credentials; the
// in-browser MQTT client talks to the broker's WebSocket listener.

import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ADMIN, type Login, loginName, problem, request } from './api.js';
import { BridgeList } from './bridges.js';
import { ClientDetail, ClientList } from './clients.js';
import { MqttClientPanel } from './mqtt-client.js';
import { EndpointPanel } from './optional.js';
import { Overview } from './overview.js';
import { RetainedBrowser } from './retained.js';
import { Sampler } from './sampler.js';
import { SessionList } from './sessions.js';
import { SubscriptionBrowser } from './subscriptions.js';
import { type Role, RoleContext } from './ui.js';
import './style.css';

const TABS = [
  ['overview', 'Overview'],
  ['clients', 'Clients'],
  ['sessions', 'Sessions'],
  ['subscriptions', 'Subscriptions'],
  ['retained', 'Retained'],
  ['bridges', 'Bridges'],
  ['cluster', 'Cluster'],
  ['mqtt', 'MQTT client'],
] as const;

/** Kept for the tab's lifetime only, so a reload stays logged in and closing the tab forgets the password. */
const STORAGE_KEY = 'culex-dashboard-login';

function storedLogin(): Login | undefined {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (raw === null) return undefined;
    const value = JSON.parse(raw) as { kind?: unknown; user?: unknown; password?: unknown; token?: unknown };
    if (value.kind === 'token' && typeof value.token === 'string')
      return { kind: 'token', token: value.token };
    if (value.kind === 'basic' && typeof value.user === 'string' && typeof value.password === 'string')
      return { kind: 'basic', user: value.user, password: value.password };
    return undefined;
  } catch {
    return undefined;
  }
}

function useHash(): string[] {
  const read = (): string[] => location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = (): void => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

function LoginForm(props: { onLogin: (login: Login) => void }): preact.JSX.Element {
  const [useToken, setUseToken] = useState(false);
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (): Promise<void> => {
    setBusy(true);
    setError(undefined);
    const login: Login = useToken
      ? { kind: 'token', token: token.trim() }
      : { kind: 'basic', user, password };
    try {
      const a = await request(login, `${ADMIN}clients?limit=1`);
      if (a.ok) props.onLogin(login);
      else setError(`Refused (${a.status}): ${problem(a)}`);
    } catch (e) {
      setError(String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <h1>Culex</h1>
        <p>
          Sign in with a user of this listener's password file (HTTP basic) or an API token of its
          http_api_token_file. Off loopback, use an HTTPS listener.
        </p>
        <label class="check">
          <input type="checkbox" checked={useToken} onChange={(e) => setUseToken(e.currentTarget.checked)} />
          API token instead of a password
        </label>
        {useToken ? (
          <label>
            token
            <input
              name="token"
              type="password"
              value={token}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          </label>
        ) : (
          <>
            <label>
              user
              <input
                name="user"
                autocomplete="username"
                value={user}
                onInput={(e) => setUser(e.currentTarget.value)}
              />
            </label>
            <label>
              password
              <input
                name="password"
                type="password"
                autocomplete="current-password"
                value={password}
                onInput={(e) => setPassword(e.currentTarget.value)}
              />
            </label>
          </>
        )}
        <button type="submit" disabled={busy} data-testid="login">
          Sign in
        </button>
        {error === undefined ? null : (
          <p class="error" data-testid="login-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function Dashboard(props: { login: Login; onLogout: () => void }): preact.JSX.Element {
  const { login } = props;
  const [first, id] = useHash();
  const tab = first === undefined || first === '' ? 'overview' : first;
  const sampler = useMemo(() => new Sampler(login), [login]);
  // Who the broker says we are, and whether changes will be allowed (a broker without /me: assume they are).
  const [me, setMe] = useState<{ who: string; role: Role }>({ who: loginName(login), role: 'admin' });
  useEffect(() => {
    void request<{ who: string | null; role: Role }>(login, `${ADMIN}me`).then((a) => {
      if (a.ok) setMe({ who: a.body.who ?? 'anonymous', role: a.body.role === 'admin' ? 'admin' : 'read' });
    });
  }, [login]);
  useEffect(() => {
    sampler.start();
    return () => sampler.stop();
  }, [sampler]);
  const open = (clientId: string): void => {
    location.hash = `#/clients/${encodeURIComponent(clientId)}`;
  };
  let body: preact.JSX.Element | null = null;
  if (tab === 'overview') body = <Overview login={login} sampler={sampler} />;
  else if (tab === 'clients' && id !== undefined && id !== '')
    body = <ClientDetail login={login} clientId={id} onClose={() => history.back()} />;
  else if (tab === 'clients') body = <ClientList login={login} onOpen={open} />;
  else if (tab === 'sessions') body = <SessionList login={login} onOpen={open} />;
  else if (tab === 'subscriptions') body = <SubscriptionBrowser login={login} onOpen={open} />;
  else if (tab === 'retained') body = <RetainedBrowser login={login} />;
  else if (tab === 'bridges') body = <BridgeList login={login} />;
  else if (tab === 'cluster')
    body = (
      <EndpointPanel
        login={login}
        title="Cluster nodes"
        path={`${ADMIN}cluster/nodes`}
        what="cluster membership"
      />
    );
  return (
    <RoleContext.Provider value={me.role}>
      <nav>
        <span class="brand">Culex</span>
        {TABS.map(([key, label]) => (
          <a key={key} href={`#/${key}`} class={tab === key ? 'active' : ''} data-tab={key}>
            {label}
          </a>
        ))}
        <span class="spacer" />
        <span class="who" data-testid="who">
          {me.who} ({me.role})
        </span>
        <button type="button" onClick={props.onLogout}>
          Sign out
        </button>
      </nav>
      <main>
        {body}
        {/* The MQTT client stays mounted so that its connection and messages survive switching panels. */}
        <div hidden={tab !== 'mqtt'}>
          <MqttClientPanel login={login} />
        </div>
      </main>
    </RoleContext.Provider>
  );
}

function App(): preact.JSX.Element {
  const [login, setLogin] = useState<Login | undefined>(storedLogin);
  if (login === undefined)
    return (
      <LoginForm
        onLogin={(l) => {
          sessionStorage.setItem(STORAGE_KEY, JSON.stringify(l));
          setLogin(l);
        }}
      />
    );
  return (
    <Dashboard
      login={login}
      onLogout={() => {
        sessionStorage.removeItem(STORAGE_KEY);
        setLogin(undefined);
      }}
    />
  );
}

render(<App />, document.getElementById('app')!);
