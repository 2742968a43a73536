// `listener PORT` + `protocol http_api` (Mosquitto 2.1): GET only, every request authenticated and checked
// against the ACL as Mosquitto does, then /api/v1/{systree,listeners,version}, Culex's /metrics, or a file of
// the listener's http_dir. Plain HTTP or, with certfile/keyfile, HTTPS (reloaded with the other TLS listeners).

import { createReadStream, statSync } from 'node:fs';
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
import { contentType, resolveStaticPath } from '../transport/static-files.js';
import type { TlsServerSetup } from '../transport/tls-context.js';
import { basicCredentials, mayAccess } from './access.js';
import { ADMIN_PREFIX, answerAdmin } from './admin-api.js';
import { listenersJson, type SystreeMarks, systree } from './api-v1.js';
import { DASHBOARD_PREFIX, redirectToDashboard, serveDashboard } from './dashboard-files.js';
import type { HttpApiHost, HttpApiListenerSetup } from './host.js';
import { EventLoopLag, renderMetrics } from './metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus-text.js';

/** Bounds of one HTTP request: header bytes, and the time a client may take to send its request. */
export const HTTP_API_MAX_HEADER_BYTES = 8192;
export const HTTP_API_REQUEST_TIMEOUT_MS = 10_000;

/** Mosquitto's realm, so a client configured for it keeps working. */
const REALM = 'Mosquitto API';

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** A 200 answer as Mosquitto sends its API answers: any origin may read them. */
function ok(res: ServerResponse, body: string, contentType: string): void {
  res.writeHead(200, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'access-control-allow-origin': '*',
  });
  res.end(body);
}

function serveFile(httpDir: string | undefined, path: string, res: ServerResponse): void {
  const file = httpDir === undefined ? undefined : resolveStaticPath(httpDir, path);
  if (file === undefined) {
    text(res, 404, 'Not found.\n');
    return;
  }
  res.writeHead(200, {
    'content-type': contentType(file),
    'content-length': statSync(file).size,
    'x-content-type-options': 'nosniff',
  });
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

class HttpApi {
  private readonly bytes: ByteTotals;
  private readonly lag = new EventLoopLag();
  private readonly marks: SystreeMarks = { clientsMaximum: 0, heapMaximum: 0 };
  private readonly openedAt = Date.now();
  private authFailures = 0;

  constructor(
    private readonly host: HttpApiHost,
    private readonly setup: HttpApiListenerSetup,
  ) {
    this.bytes = new ByteTotals(host.core);
  }

  start(): void {
    this.bytes.start();
    this.lag.start();
  }

  stop(): void {
    this.bytes.stop();
    this.lag.stop();
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    this.answer(req, res).catch(() => {
      if (!res.headersSent) text(res, 500, 'Internal server error.\n');
      else res.destroy();
    });
  };

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt < 0 ? url : url.slice(0, queryAt);
    const admin = path.startsWith(ADMIN_PREFIX);
    // Mosquitto's API is GET only; DELETE is the admin API's one change (kick).
    if (req.method !== 'GET' && !(admin && req.method === 'DELETE')) {
      text(res, 405, 'Invalid HTTP Method\n');
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
    const credentials = basicCredentials(req.headers.authorization);
    const remoteAddress = req.socket.remoteAddress ?? '';
    const outcome = await mayAccess(this.setup.context(), {
      credentials,
      remoteAddress,
      path,
      access: req.method === 'GET' ? 'read' : 'write',
    });
    if (outcome !== 'allowed') {
      this.refuse(
        res,
        outcome === 'unauthenticated' && credentials !== undefined ? remoteAddress : undefined,
      );
      return;
    }
    if (credentials !== undefined) this.host.core.authFailures.succeeded(remoteAddress);
    if (admin) {
      const answer = answerAdmin(this.host.core, {
        method: req.method === 'GET' ? 'GET' : 'DELETE',
        route: path.slice(ADMIN_PREFIX.length),
        query: new URLSearchParams(queryAt < 0 ? '' : url.slice(queryAt + 1)),
        user: credentials?.username,
        remoteAddress,
      });
      const body = JSON.stringify(answer.body, null, '\t');
      res.writeHead(answer.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
      });
      res.end(body);
    } else if (path.toLowerCase().startsWith('/api/')) this.api(path, res);
    else if (path === '/metrics') ok(res, this.metrics(), PROMETHEUS_CONTENT_TYPE);
    else serveFile(this.setup.options.httpDir, path, res);
  }

  /**
   * 401, after auth_failure_delay's wait for a wrong password from `guesser` (the same per-address back-off as
   * MQTT logins, so the API is no faster way to guess).
   */
  private refuse(res: ServerResponse, guesser: string | undefined): void {
    this.authFailures++;
    const send = (): void =>
      text(res, 401, 'Not authorised\n', { 'www-authenticate': `Basic realm="${REALM}"` });
    const delays = this.host.core.authFailures;
    if (guesser === undefined || !delays.enabled) {
      send();
      return;
    }
    setTimeout(send, delays.failed(guesser, Date.now())).unref();
  }

  private api(path: string, res: ServerResponse): void {
    const core = this.host.core;
    const json = (value: unknown): void => ok(res, JSON.stringify(value, null, '\t'), 'application/json');
    if (path === '/api/v1/systree') {
      json(systree({ core, bytes: this.bytes, marks: this.marks, uptimeSeconds: this.uptime() }));
    } else if (path === '/api/v1/listeners') {
      json(listenersJson(this.host.listenerOptions(), core.options.allowAnonymous));
    } else if (path === '/api/v1/version') {
      ok(res, this.host.version, 'text/plain; charset=utf-8');
    } else {
      text(res, 404, 'Not found.\n');
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
