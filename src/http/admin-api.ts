// Culex's admin API beside Mosquitto's /api/v1 (which is read-only), under /api/culex/v1/: clients (search,
// details, kick), sessions online and offline (list, delete, purge the queue), subscriptions across clients,
// retained messages (browse by filter, delete), bridges (state, counters, start / stop), listeners and cluster
// nodes. Lists are paged (offset / limit, at most ADMIN_PAGE_MAX a page): one pass over the sessions per
// request, and nothing built for the items skipped. Every change is logged with who made it (docs/http-api.md).

import type { BrokerCore } from '../broker/broker-core.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import { kick, listClients, showClient } from './admin-clients.js';
import { listClusterNodes } from './admin-cluster.js';
import { listBridges, listListeners, showBridge, switchBridge } from './admin-operations.js';
import { deleteRetained, listRetained } from './admin-retained.js';
import { deleteSession, listSessions, purgeQueue, showSession } from './admin-sessions.js';
import { listSubscriptions } from './admin-subscriptions.js';
import type { BridgeControl, ClusterView } from './host.js';

export const ADMIN_PREFIX = '/api/culex/v1/';
export const ADMIN_PAGE_DEFAULT = 100;
export const ADMIN_PAGE_MAX = 1000;

export type AdminMethod = 'GET' | 'DELETE' | 'POST';

export interface AdminAnswer {
  status: number;
  body: unknown;
}

/** What the admin API acts on. */
export interface AdminContext {
  readonly core: BrokerCore;
  bridges(): BridgeControl | undefined;
  cluster(): ClusterView | undefined;
  listenerOptions(): readonly ListenerOptions[];
}

export interface AdminRequest {
  readonly method: AdminMethod;
  /** Path after ADMIN_PREFIX, still URL-encoded. */
  readonly route: string;
  readonly query: URLSearchParams;
  /** Who asks, for the log line of a change (a user name, or `token NAME`). */
  readonly user: string | undefined;
  /** What the requester may do (checked before): `admin` may change things. */
  readonly role: 'read' | 'admin';
  readonly remoteAddress: string;
}

export function page(query: URLSearchParams): { offset: number; limit: number } {
  const number = (name: string, fallback: number, max: number): number => {
    const n = Number.parseInt(query.get(name) ?? '', 10);
    return Number.isFinite(n) && n >= 0 ? Math.min(n, max) : fallback;
  };
  return {
    offset: number('offset', 0, Number.MAX_SAFE_INTEGER),
    limit: number('limit', ADMIN_PAGE_DEFAULT, ADMIN_PAGE_MAX),
  };
}

/** Collects one page while counting every match: items before `offset` or past the page are only counted. */
export class PageCollector<T> {
  readonly items: T[] = [];
  total = 0;
  readonly offset: number;
  readonly limit: number;

  constructor(query: URLSearchParams) {
    ({ offset: this.offset, limit: this.limit } = page(query));
  }

  /** Counts a match; true when the caller should build and `push` its item. */
  wants(): boolean {
    const wanted = this.total >= this.offset && this.items.length < this.limit;
    this.total++;
    return wanted;
  }

  answer(key: string): AdminAnswer {
    return {
      status: 200,
      body: { total: this.total, offset: this.offset, limit: this.limit, [key]: this.items },
    };
  }
}

/** The log line of a change, in the words of the existing ones. */
export function logChange(core: BrokerCore, request: AdminRequest, what: string): void {
  core.logger.log(
    'notice',
    `HTTP API: ${request.user ?? 'anonymous'} from ${request.remoteAddress} ${what}.`,
  );
}

export const NOT_FOUND: AdminAnswer = { status: 404, body: { error: 'not found' } };

type Handler = (context: AdminContext, id: string, request: AdminRequest) => AdminAnswer;
type ListHandler = (context: AdminContext, request: AdminRequest) => AdminAnswer;

/** `resource` → method → handler, for the collection (`list`), one item, and one action on an item. */
const LISTS: Record<string, Partial<Record<AdminMethod, ListHandler>>> = {
  clients: { GET: (c, r) => listClients(c.core, r.query) },
  sessions: { GET: (c, r) => listSessions(c.core, r.query) },
  subscriptions: { GET: (c, r) => listSubscriptions(c.core, r.query) },
  retained: { GET: (c, r) => listRetained(c.core, r.query) },
  bridges: { GET: (c) => listBridges(c) },
  listeners: { GET: (c) => listListeners(c) },
  // Who the credentials are and what they may do, so a client (the dashboard) can offer only what works.
  me: { GET: (_c, r) => ({ status: 200, body: { who: r.user ?? null, role: r.role } }) },
};

const ITEMS: Record<string, Partial<Record<AdminMethod, Handler>>> = {
  clients: { GET: (c, id) => showClient(c.core, id), DELETE: (c, id, r) => kick(c.core, id, r) },
  sessions: { GET: (c, id) => showSession(c.core, id), DELETE: (c, id, r) => deleteSession(c.core, id, r) },
  retained: { DELETE: (c, id, r) => deleteRetained(c.core, id, r) },
  bridges: { GET: (c, id) => showBridge(c, id) },
  // `cluster/nodes`: the only cluster resource so far.
  cluster: { GET: (c, id) => (id === 'nodes' ? listClusterNodes(c) : NOT_FOUND) },
};

const ACTIONS: Record<string, Partial<Record<AdminMethod, Handler>>> = {
  'sessions/queue': { DELETE: (c, id, r) => purgeQueue(c.core, id, r) },
  'bridges/start': { POST: (c, id, r) => switchBridge(c, id, r, 'start') },
  'bridges/stop': { POST: (c, id, r) => switchBridge(c, id, r, 'stop') },
};

/** 405 when the path exists with other methods, 404 when it does not. */
function dispatch<H>(
  table: Partial<Record<AdminMethod, H>> | undefined,
  method: AdminMethod,
): H | AdminAnswer {
  if (table === undefined) return NOT_FOUND;
  const handler = table[method];
  if (handler !== undefined) return handler;
  return {
    status: 405,
    body: { error: `${method} is not allowed here; allowed: ${Object.keys(table).join(', ')}` },
  };
}

export function answerAdmin(context: AdminContext, request: AdminRequest): AdminAnswer {
  const [resource = '', encodedId, action, extra] = request.route.split('/');
  if (extra !== undefined) return NOT_FOUND;
  let id: string | undefined;
  try {
    id = encodedId === undefined || encodedId === '' ? undefined : decodeURIComponent(encodedId);
  } catch {
    return { status: 400, body: { error: 'bad URL encoding' } };
  }
  if (id === undefined) {
    const list = dispatch(LISTS[resource], request.method);
    return typeof list === 'function' ? list(context, request) : list;
  }
  const handler = dispatch(
    action === undefined ? ITEMS[resource] : ACTIONS[`${resource}/${action}`],
    request.method,
  );
  return typeof handler === 'function' ? handler(context, id, request) : handler;
}

/** Whether a request changes something (needs the admin role): every method but GET. */
export function isChange(method: string): boolean {
  return method !== 'GET';
}
