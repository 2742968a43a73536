// Who may read an HTTP API path: as Mosquitto 2.1's http_api does, the request's HTTP basic credentials go
// through the listener's usual authentication (password file, plugins, allow_anonymous) with the client id
// "http-api", then the URL path is checked as a topic for read access (acl_file, plugins).

import type { ClientInfo } from '../broker/hooks.js';
import type { ListenerContext } from '../broker/listener-context.js';

export const HTTP_API_CLIENT_ID = 'http-api';

export interface BasicCredentials {
  username: string;
  password: Buffer;
}

/** The user and password of an `Authorization: Basic` header; undefined when absent or not basic. */
export function basicCredentials(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return undefined;
  return { username: decoded.subarray(0, colon).toString('utf8'), password: decoded.subarray(colon + 1) };
}

export interface AccessRequest {
  readonly credentials: BasicCredentials | undefined;
  readonly remoteAddress: string;
  readonly path: string;
  /** `write` for a change (admin API): needs an ACL that grants it, never granted by the absence of one. */
  readonly access: 'read' | 'write';
}

/**
 * Whether the request may read (GET) or change (DELETE) `path`; the caller answers 401 otherwise. A change is
 * checked as a publish to the path: `topic write /api/culex/#` (or readwrite) in the acl_file makes an admin.
 */
export type AccessOutcome = 'allowed' | 'unauthenticated' | 'denied';

export async function mayAccess(context: ListenerContext, request: AccessRequest): Promise<AccessOutcome> {
  const { credentials, remoteAddress } = request;
  const security = context.security;
  const hook = context.hooks.authenticate;
  let authenticated: boolean;
  if (credentials === undefined || hook === undefined) authenticated = security.allowAnonymous;
  else {
    try {
      authenticated = await hook({
        clientId: HTTP_API_CLIENT_ID,
        username: credentials.username,
        password: credentials.password,
        remoteAddress,
        listenerPort: context.port,
      });
    } catch {
      authenticated = false;
    }
  }
  if (!authenticated) return 'unauthenticated';
  const authorize = context.hooks.authorize;
  if (authorize === undefined) return request.access === 'read' ? 'allowed' : 'denied';
  const client: ClientInfo = {
    clientId: HTTP_API_CLIENT_ID,
    username: credentials?.username,
    protocolVersion: 5,
    remoteAddress,
    listenerPort: context.port,
  };
  return authorize(client, request.access, request.path) ? 'allowed' : 'denied';
}
