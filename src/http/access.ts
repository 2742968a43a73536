// Who may do what on the HTTP API (docs/http-api.md, "Access"). Three kinds of path:
// - Mosquitto 2.1's (/api/v1/*, other /api/*, http_dir files): as Mosquitto 2.1 does it, the HTTP basic
//   credentials go through the listener's authentication (password file, plugins, allow_anonymous) as client id
//   "http-api", then the path is checked as a topic for read access in the ACL; Culex also takes its tokens.
// - /metrics: open unless `http_api_metrics_auth true`, then as Culex's paths with the read role.
// - Culex's admin API (/api/culex/v1/*): a bearer token of `http_api_token_file` (role read or admin), or a user
//   of the listener's authentication: an admin when the dynamic-security plugin gives it `http_api_admin_role`,
//   otherwise what the ACL grants on the path (read: GET; write: a change), read-only without an ACL. Nobody
//   gets in by default: an anonymous request needs an ACL that grants it, and with no credentials configured
//   at all the answer is 403 with what to configure.

import type { ClientInfo } from '../broker/hooks.js';
import type { ListenerContext } from '../broker/listener-context.js';
import type { ApiRole, TokenFile, TokenHolder } from './token-file.js';

export const HTTP_API_CLIENT_ID = 'http-api';
/** Mosquitto 2.1's first-run dynamic-security admin role (mosquitto_ctrl dynsec init). */
export const DEFAULT_ADMIN_ROLE = 'super-admin';

export interface BasicCredentials {
  username: string;
  password: Buffer;
}

export type Credentials =
  | { readonly scheme: 'none' }
  | { readonly scheme: 'basic'; readonly basic: BasicCredentials }
  | { readonly scheme: 'bearer'; readonly token: string }
  | { readonly scheme: 'invalid' };

/** The credentials of an `Authorization` header: Basic, Bearer, none, or something else (refused). */
export function parseAuthorization(header: string | undefined): Credentials {
  if (header === undefined || header.trim() === '') return { scheme: 'none' };
  const bearer = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)\s*$/i.exec(header);
  if (bearer !== null) return { scheme: 'bearer', token: bearer[1]! };
  const basic = basicCredentials(header);
  return basic === undefined ? { scheme: 'invalid' } : { scheme: 'basic', basic };
}

/** The user and password of an `Authorization: Basic` header; undefined when absent or not basic. */
function basicCredentials(header: string | undefined): BasicCredentials | undefined {
  if (header === undefined) return undefined;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return undefined;
  return { username: decoded.subarray(0, colon).toString('utf8'), password: decoded.subarray(colon + 1) };
}

export type PathKind = 'mosquitto' | 'metrics' | 'admin';

export interface AccessSettings {
  readonly tokens: TokenFile | undefined;
  readonly adminRole: string;
  readonly metricsAuth: boolean;
}

export interface AccessRequest {
  readonly credentials: Credentials;
  readonly remoteAddress: string;
  readonly path: string;
  readonly kind: PathKind;
  /** A change (any method but GET): needs the admin role. */
  readonly change: boolean;
  readonly now: number;
}

export type AccessOutcome =
  | {
      readonly allowed: true;
      readonly who: string | undefined;
      /** What the requester may do on Culex's paths (GET /api/culex/v1/me tells it). */
      readonly role: ApiRole;
    }
  | {
      readonly allowed: false;
      /** 401: no or wrong credentials; 403: known, but not allowed (or nothing configured). */
      readonly status: 401 | 403;
      readonly reason: string;
      /** Wrong credentials were given: counts towards the rate limit and auth_failure_delay. */
      readonly failedLogin: boolean;
    };

type Principal =
  | { readonly kind: 'anonymous' }
  | { readonly kind: 'user'; readonly username: string }
  | { readonly kind: 'token'; readonly holder: TokenHolder };

const ALLOW_OPEN: AccessOutcome = { allowed: true, who: undefined, role: 'read' };

function refuse(status: 401 | 403, reason: string, failedLogin = false): AccessOutcome {
  return { allowed: false, status, reason, failedLogin };
}

/** Whether anything could ever let a request in besides allow_anonymous: tokens, passwords, roles, an ACL. */
function credentialsConfigured(context: ListenerContext, settings: AccessSettings): boolean {
  const hooks = context.hooks;
  return (
    (settings.tokens?.size ?? 0) > 0 ||
    hooks.authenticate !== undefined ||
    hooks.authorize !== undefined ||
    hooks.hasRole !== undefined
  );
}

const NOTHING_CONFIGURED =
  'The HTTP API is closed: no credentials are configured. Give this listener an http_api_token_file ' +
  '("TOKEN read|admin" lines), or a password_file or dynamic-security plugin for HTTP basic users.';

async function identify(
  context: ListenerContext,
  settings: AccessSettings,
  request: AccessRequest,
): Promise<Principal | AccessOutcome> {
  const { credentials } = request;
  switch (credentials.scheme) {
    case 'none':
      return { kind: 'anonymous' };
    case 'invalid':
      return refuse(401, 'The Authorization header must be "Basic ..." or "Bearer TOKEN".', true);
    case 'bearer': {
      if (settings.tokens === undefined)
        return refuse(401, 'Bearer tokens are not configured on this listener (http_api_token_file).', true);
      const holder = settings.tokens.verify(credentials.token, request.now);
      return holder === undefined ? refuse(401, 'Unknown bearer token.', true) : { kind: 'token', holder };
    }
    case 'basic': {
      const hook = context.hooks.authenticate;
      const { username, password } = credentials.basic;
      if (hook === undefined) {
        // Mosquitto lets a username through unchecked where there is nothing to check it against and
        // anonymous access is allowed; Culex's own paths never take an unchecked name.
        if (request.kind === 'mosquitto' && context.security.allowAnonymous)
          return { kind: 'user', username };
        return refuse(
          401,
          'This listener has no password file or plugin to check HTTP basic credentials.',
          true,
        );
      }
      let authenticated = false;
      try {
        authenticated = await hook({
          clientId: HTTP_API_CLIENT_ID,
          username,
          password,
          remoteAddress: request.remoteAddress,
          listenerPort: context.port,
        });
      } catch {}
      return authenticated ? { kind: 'user', username } : refuse(401, 'Wrong username or password.', true);
    }
  }
}

function aclAllows(
  context: ListenerContext,
  username: string | undefined,
  request: AccessRequest,
  access: 'read' | 'write',
): boolean | undefined {
  const authorize = context.hooks.authorize;
  if (authorize === undefined) return undefined;
  const client: ClientInfo = {
    clientId: HTTP_API_CLIENT_ID,
    username,
    protocolVersion: 5,
    remoteAddress: request.remoteAddress,
    listenerPort: context.port,
  };
  return authorize(client, access, request.path);
}

function who(principal: Principal): string | undefined {
  if (principal.kind === 'user') return principal.username;
  if (principal.kind === 'token') return `token ${principal.holder.name}`;
  return undefined;
}

export async function decideAccess(
  context: ListenerContext,
  settings: AccessSettings,
  request: AccessRequest,
): Promise<AccessOutcome> {
  if (request.kind === 'metrics' && !settings.metricsAuth) return ALLOW_OPEN;
  const configured = credentialsConfigured(context, settings);
  if (request.kind !== 'mosquitto' && !configured) return refuse(403, NOTHING_CONFIGURED);
  const principal = await identify(context, settings, request);
  if (!('kind' in principal)) return principal;
  const name = who(principal);
  const grant = (role: ApiRole): AccessOutcome => ({ allowed: true, who: name, role });
  if (principal.kind === 'token') {
    const role: ApiRole = principal.holder.role;
    if (request.change && role !== 'admin')
      return refuse(403, `${name} has the read role: changes need a token with the admin role.`);
    return grant(role);
  }
  const username = principal.kind === 'user' ? principal.username : undefined;
  if (principal.kind === 'anonymous' && !context.security.allowAnonymous)
    return refuse(
      401,
      configured ? 'Credentials are needed (HTTP basic or a bearer token).' : NOTHING_CONFIGURED,
    );
  if (username !== undefined && context.hooks.hasRole?.(username, settings.adminRole) === true)
    return grant('admin');
  const acl = aclAllows(context, username, request, request.change ? 'write' : 'read');
  if (request.kind === 'mosquitto') {
    // Mosquitto 2.1: without an ACL every authenticated (or allowed anonymous) request may read.
    return acl !== false ? grant('read') : refuse(401, 'Not authorised.');
  }
  const allowed = grant(
    request.change || aclAllows(context, username, request, 'write') === true ? 'admin' : 'read',
  );
  if (acl === true) return allowed;
  if (principal.kind === 'anonymous')
    return refuse(
      401,
      'Credentials are needed (HTTP basic or a bearer token): anonymous access is not granted here.',
    );
  if (acl === undefined && !request.change) return allowed;
  return refuse(
    403,
    request.change
      ? `${name} may not change anything: that needs the admin role (dynamic-security role ` +
          `"${settings.adminRole}", ACL write access to ${request.path}, or an admin token).`
      : `${name} may not read ${request.path} (ACL).`,
  );
}
