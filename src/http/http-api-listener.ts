// `listener PORT` + `protocol http_api` (Mosquitto 2.1): every request checked as access.ts says (Mosquitto's
// rule for its own paths; tokens and roles for Culex's; failed logins rate-limited), then /api/v1/{systree,
// listeners,version}, Culex's /metrics and admin API, or a file of the listener's http_dir. Plain HTTP or, with
// certfile/keyfile, HTTPS (reloaded with the other TLS listeners).

import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { ByteTotals } from '../broker/byte-totals.js';
import { bindServers } from '../transport/bind-servers.js';
import type { Listener } from '../transport/listener.js';
import { resolveStaticPath } from '../transport/static-files.js';
import type { TlsServerSetup } from '../transport/tls-context.js';
import {
  type AccessOutcome,
  type AccessSettings,
  DEFAULT_ADMIN_ROLE,
  decideAccess,
  type PathKind,
  parseAuthorization,
} from './access.js';
import { ADMIN_PREFIX, type AdminContext, type AdminMethod, answerAdmin, isChange } from './admin-api.js';
import { listenersJson, type SystreeMarks, systree } from './api-v1.js';
import { CommitLatency } from './commit-latency.js';
import { DASHBOARD_PREFIX, redirectToDashboard, serveDashboard } from './dashboard-files.js';
import type { HttpApiHost, HttpApiListenerSetup } from './host.js';
import { answer, fileAnswer, jsonAnswer, textAnswer } from './http-answers.js';
import { LoginLimiter } from './login-limiter.js';
import { EventLoopLag, renderMetrics } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';
import { TokenFile } from './token-file.js';

/** Bounds of one HTTP request: header bytes, and the time a client may take to send its request. */
export const HTTP_API_MAX_HEADER_BYTES = 8192;
export const HTTP_API_REQUEST_TIMEOUT_MS = 10_000;

/** Mosquitto's realm, so a client configured for it keeps working. */
const REALM = 'Mosquitto API';
/** The realm of Culex's own paths (admin API, /metrics with http_api_metrics_auth). */
const CULEX_REALM = 'Culex API';

/** Mosquitto's API answers: any origin may read them. */
const ANY_ORIGIN = { 'access-control-allow-origin': '*' };

function serveFile(httpDir: string | undefined, path: string, res: ServerResponse): void {
  const file = httpDir === undefined ? undefined : resolveStaticPath(httpDir, path);
  if (file === undefined) {
    textAnswer(res, 404, 'Not found.\n');
    return;
  }
  fileAnswer(res, file, { 'x-content-type-options': 'nosniff' });
}

class HttpApi {
  private readonly bytes: ByteTotals;
  private readonly lag = new EventLoopLag();
  private readonly commits = new CommitLatency();
  private readonly marks: SystreeMarks = { clientsMaximum: 0, heapMaximum: 0 };
  private readonly openedAt = Date.now();
  private authFailures = 0;
  private readonly limiter = new LoginLimiter();
  private readonly access: AccessSettings;
  private readonly adminContext: AdminContext;

  /** Reads the listener's token file: throws when it is unusable (the listener then does not open). */
  constructor(
    private readonly host: HttpApiHost,
    private readonly setup: HttpApiListenerSetup,
  ) {
    this.bytes = new ByteTotals(host.core);
    const options = setup.options;
    const file = options.httpApiTokenFile;
    this.access = {
      tokens: file === undefined ? undefined : new TokenFile(file, (m) => host.core.logger.log('error', m)),
      adminRole: options.httpApiAdminRole ?? DEFAULT_ADMIN_ROLE,
      metricsAuth: options.httpApiMetricsAuth ?? false,
    };
    this.adminContext = {
      core: host.core,
      bridges: () => host.bridges(),
      cluster: () => host.cluster(),
      listenerOptions: () => host.listenerOptions(),
    };
  }

  start(): void {
    this.bytes.start();
    this.lag.start();
    this.commits.start();
  }

  stop(): void {
    this.bytes.stop();
    this.lag.stop();
    this.commits.stop();
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.answer(req, res).catch(() => {
      if (!res.headersSent) textAnswer(res, 500, 'Internal server error.\n');
      else res.destroy();
    });
  };

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const kind: PathKind = path.startsWith(ADMIN_PREFIX)
      ? 'admin'
      : path === '/metrics'
        ? 'metrics'
        : 'mosquitto';
    const method = req.method ?? '';
    // Mosquitto's API is GET only; the admin API's changes are DELETE and POST.
    if (method !== 'GET' && !(kind === 'admin' && (method === 'DELETE' || method === 'POST'))) {
      textAnswer(res, 405, 'Invalid HTTP Method\n');
      return;
    }
    // The dashboard's files carry no data, so a browser may load the page and then sign in against the API.
    if (path === '/dashboard' || (path === '/' && this.setup.options.httpDir === undefined)) {
      redirectToDashboard(res);
      return;
    }
    if (path.startsWith(DASHBOARD_PREFIX)) {
      serveDashboard(path, res);
      return;
    }
    const credentials = parseAuthorization(req.headers.authorization);
    const remoteAddress = req.socket.remoteAddress ?? '';
    const now = Date.now();
    if (credentials.scheme !== 'none') {
      const wait = this.limiter.retryAfter(remoteAddress, now);
      if (wait > 0) {
        this.authFailures++;
        const why = `Too many failed logins from ${remoteAddress}: try again in ${wait} s.`;
        this.reply(res, kind, 429, why, { 'retry-after': String(wait) });
        return;
      }
    }
    const outcome = await decideAccess(this.setup.context(), this.access, {
      credentials,
      remoteAddress,
      path,
      kind,
      change: isChange(method),
      now,
    });
    if (!outcome.allowed) {
      this.refuse(res, kind, outcome, remoteAddress);
      return;
    }
    if (credentials.scheme !== 'none') this.host.core.authFailures.succeeded(remoteAddress);
    if (kind === 'admin') {
      const answer = answerAdmin(this.adminContext, {
        method: method as AdminMethod,
        route: path.slice(ADMIN_PREFIX.length),
        query: new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)),
        user: outcome.who,
        role: outcome.role,
        remoteAddress,
      });
      jsonAnswer(res, answer.status, answer.body);
    } else if (path.toLowerCase().startsWith('/api/')) this.api(path, res);
    else if (kind === 'metrics') answer(res, 200, this.metrics(), PROMETHEUS_CONTENT_TYPE, ANY_ORIGIN);
    else serveFile(this.setup.options.httpDir, path, res);
  }

  /** An error answer: JSON `{error}` on the admin API, text elsewhere. */
  private reply(
    res: ServerResponse,
    kind: PathKind,
    status: number,
    reason: string,
    headers: Record<string, string> = {},
  ): void {
    if (kind === 'admin') jsonAnswer(res, status, { error: reason }, headers);
    else textAnswer(res, status, `${reason}\n`, headers);
  }

  /**
   * 401 / 403, after auth_failure_delay's wait for wrong credentials (the same per-address back-off as MQTT
   * logins, so the API is no faster way to guess); wrong credentials also count towards the 429 limit.
   * Mosquitto's own paths answer as Mosquitto 2.1 does: 401 `Not authorised` with its Basic challenge.
   */
  private refuse(
    res: ServerResponse,
    kind: PathKind,
    outcome: Extract<AccessOutcome, { allowed: false }>,
    remoteAddress: string,
  ): void {
    this.authFailures++;
    const send = (): void => {
      if (kind === 'mosquitto')
        textAnswer(res, 401, 'Not authorised\n', { 'www-authenticate': `Basic realm="${REALM}"` });
      else
        this.reply(
          res,
          kind,
          outcome.status,
          outcome.reason,
          // A Bearer challenge: a browser shows no password dialog for it (the dashboard logs in by itself).
          outcome.status === 401 ? { 'www-authenticate': `Bearer realm="${CULEX_REALM}"` } : {},
        );
    };
    if (!outcome.failedLogin) {
      send();
      return;
    }
    this.limiter.failed(remoteAddress, Date.now());
    const delays = this.host.core.authFailures;
    if (!delays.enabled) send();
    else setTimeout(send, delays.failed(remoteAddress, Date.now())).unref();
  }

  private api(path: string, res: ServerResponse): void {
    const core = this.host.core;
    const json = (value: unknown): void => jsonAnswer(res, 200, value, ANY_ORIGIN);
    if (path === '/api/v1/systree') {
      json(systree({ core, bytes: this.bytes, marks: this.marks, uptimeSeconds: this.uptime() }));
    } else if (path === '/api/v1/listeners') {
      json(listenersJson(this.host.listenerOptions(), core.options.allowAnonymous));
    } else if (path === '/api/v1/version') {
      textAnswer(res, 200, this.host.version, ANY_ORIGIN);
    } else {
      textAnswer(res, 404, 'Not found.\n');
    }
  }

  private metrics(): string {
    return renderMetrics({
      core: this.host.core,
      bytes: this.bytes,
      lag: this.lag,
      version: this.host.version,
      uptimeSeconds: this.uptime(),
      httpAuthFailures: this.authFailures,
      more: [...this.commits.families(), ...this.host.metrics.collect()],
    });
  }

  private uptime(): number {
    return Math.floor((Date.now() - this.openedAt) / 1000);
  }
}

/** Binds the http_api listener's sockets; logged as Mosquitto 2.1 does ("http api listen socket on port N"). */
export async function openHttpApiListener(
  host: HttpApiHost,
  setup: HttpApiListenerSetup,
  tls: TlsServerSetup | undefined,
): Promise<Listener[]> {
  const api = new HttpApi(host, setup);
  const serverOptions = {
    maxHeaderSize: HTTP_API_MAX_HEADER_BYTES,
    headersTimeout: HTTP_API_REQUEST_TIMEOUT_MS,
    requestTimeout: HTTP_API_REQUEST_TIMEOUT_MS,
  };
  let servers = 0;
  const listeners = await bindServers(
    setup.options,
    () => {
      const secure =
        tls === undefined ? undefined : createHttpsServer({ ...tls.options, ...serverOptions }, api.handle);
      const server: Server = secure ?? createHttpServer(serverOptions, api.handle);
      if (tls !== undefined && secure !== undefined) {
        tls.servers.add(secure);
        secure.once('close', () => tls.servers.delete(secure));
      }
      server.on('clientError', (_err, socket) => socket.destroy());
      servers++;
      const close = (): void => {
        server.closeAllConnections();
        if (--servers === 0) api.stop();
      };
      return { server, close };
    },
    'http api',
  );
  api.start();
  return listeners;
}
