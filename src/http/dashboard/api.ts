// The dashboard's one way to the broker: fetch with HTTP basic credentials against the admin API of the listener
// that served the page. `credentials: 'omit'` keeps the browser from opening its own login dialog on a 401
// (the Fetch standard only prompts for requests that include credentials); the header is still sent.

/** A user of the listener's password file (HTTP basic), or a bearer token of its `http_api_token_file`. */
export type Login =
  | { readonly kind: 'basic'; readonly user: string; readonly password: string }
  | { readonly kind: 'token'; readonly token: string };

/** Who is signed in, for the navigation bar. */
export function loginName(login: Login): string {
  return login.kind === 'basic' ? login.user : 'API token';
}

export const ADMIN = '/api/culex/v1/';

/** An answer the page shows as it is: status and body (parsed JSON when the body is JSON, else the text). */
export interface Answer<T> {
  readonly status: number;
  readonly ok: boolean;
  readonly body: T;
  readonly text: string;
}

function authorization(login: Login): string {
  if (login.kind === 'token') return `Bearer ${login.token}`;
  // btoa takes Latin-1 only: encode UTF-8 first so that any user name works.
  const bytes = new TextEncoder().encode(`${login.user}:${login.password}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

export async function request<T>(
  login: Login,
  path: string,
  method: 'GET' | 'DELETE' | 'POST' = 'GET',
): Promise<Answer<T>> {
  const res = await fetch(path, {
    method,
    headers: { authorization: authorization(login) },
    credentials: 'omit',
    cache: 'no-store',
  });
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, ok: res.ok, body: body as T, text };
}

/** The error an answer carries, for a line under a panel. */
export function problem(answer: Answer<unknown>): string {
  const body = answer.body as { error?: unknown } | string;
  if (typeof body === 'object' && body !== null && typeof body.error === 'string') return body.error;
  return `${answer.status} ${answer.text.trim()}`;
}

export function encode(part: string): string {
  return encodeURIComponent(part);
}

/** A page of a list as the admin API answers it. */
export interface Page {
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
}

export interface ClientSummary {
  client_id: string;
  connected: boolean;
  username: string | null;
  address: string | null;
  protocol_version: number | null;
  subscriptions: number;
  queued: number;
  inflight: number;
}

export interface SubscriptionInfo {
  filter: string;
  qos: number;
  no_local: boolean;
  retain_as_published: boolean;
  retain_handling: number;
}

export interface ClientDetails extends ClientSummary {
  keepalive: number | null;
  listener_port: number | null;
  connected_at: string | null;
  session_expiry_interval: number;
  queued_bytes: number;
  inflight_bytes: number;
  dropped: number;
  subscriptions_list: SubscriptionInfo[];
}

export interface RetainedInfo {
  topic: string;
  qos: number;
  payload_bytes: number;
  payload_base64: string;
}

export interface ListenerInfo {
  port?: number;
  path?: string;
  protocol: string;
  tls: boolean;
  mtls: boolean;
  allow_anonymous: boolean;
}

/** A payload as text when it is valid UTF-8, else as hex. */
export function payloadText(bytes: Uint8Array, max = 200): string {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.length > max ? `${text.slice(0, max)}…` : text;
  } catch {
    const hex = Array.from(bytes.subarray(0, max / 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
    return `0x ${hex}${bytes.length > max / 2 ? ' …' : ''}`;
  }
}

export function base64Bytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
