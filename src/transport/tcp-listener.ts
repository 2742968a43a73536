// Plain TCP listeners (and Unix domain sockets, which Node serves through the same `net` server).

import cluster from 'node:cluster';
import { lstatSync, unlinkSync } from 'node:fs';
import { type AddressInfo, createServer, isIPv6, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { ConnectionHandler, Listener } from './listener.js';
import type { ListenerOptions } from './listener-options.js';
import { acceptProxied } from './proxy-accept.js';
import { acceptedPeerAddress, withReadBuffers } from './socket-internals.js';
import { acceptRaw } from './tcp-stream.js';

/** What a listener with `enable_proxy_protocol` needs from the broker: the header deadline and a log line sink. */
export interface ProxyEnvironment {
  timeoutMs: number;
  log(line: string): void;
}

export class NetListener implements Listener {
  constructor(
    private readonly server: Server,
    readonly description: string,
    readonly port: number,
  ) {}

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export { peerAddress } from './socket-internals.js';

/** Addresses to bind for one listener: explicit host, an interface's addresses, or all interfaces. */
export function bindAddresses(options: ListenerOptions): string[] {
  if (options.bindInterface !== undefined) {
    const entries = networkInterfaces()[options.bindInterface];
    if (entries === undefined)
      throw new Error(`bind_interface: no network interface named "${options.bindInterface}"`);
    return entries
      .filter(
        (e) =>
          options.socketDomain === undefined ||
          e.family === (options.socketDomain === 'ipv4' ? 'IPv4' : 'IPv6'),
      )
      .map((e) => e.address);
  }
  if (options.host !== undefined) return [options.host];
  if (options.socketDomain === 'ipv4') return ['0.0.0.0'];
  return ['::'];
}

/** Binds one server; resolves with the port really bound (0 for a Unix socket). */
export function listenOne(
  server: Server,
  port: number,
  host: string | undefined,
  path: string | undefined,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr !== null ? (addr as AddressInfo).port : 0);
    };
    if (path !== undefined) {
      // Workers (src/cli/workers.ts) share the socket their primary binds: it removed the stale file once.
      if (!cluster.isWorker) removeStaleSocket(path);
      server.listen({ path }, done);
    } else server.listen({ port, host, ipv6Only: host !== undefined && isIPv6(host) && host !== '::' }, done);
  });
}

/** A socket file left by a previous run would make bind fail (EADDRINUSE); Mosquitto removes it too. */
export function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // nothing there, or not ours to remove: bind reports the real problem
  }
}

/** Opens the sockets of one `listener` (one per bind address) and hands accepted sockets to `onConnection`. */
export async function openTcpListener(
  options: ListenerOptions,
  onConnection: ConnectionHandler,
  wrap?: (server: Server) => void,
  proxyEnv?: ProxyEnvironment,
  onDrop?: DropHandler,
): Promise<Listener[]> {
  const opened: Listener[] = [];
  const version = options.proxyProtocol;
  const proxy =
    version === undefined || proxyEnv === undefined
      ? undefined
      : {
          version,
          requireTls: options.proxyProtocolV2RequireTls === true,
          requireCertificate: options.proxyClientCertificate?.require === true,
          identityAsUsername: options.proxyClientCertificate?.identityAsUsername === true,
          timeoutMs: proxyEnv.timeoutMs,
          onReject: proxyEnv.log,
        };
  const targets = options.unixSocketPath !== undefined ? [undefined] : bindAddresses(options);
  for (const host of targets) {
    // Paused on accept so that the socket is switched to our read buffers before any byte is read.
    const server = createServer({ noDelay: options.setTcpNodelay, pauseOnConnect: true }, (accepted) => {
      const socket = withReadBuffers(accepted);
      const address = acceptedPeerAddress(socket, options.unixSocketPath ?? 'unix');
      // The PROXY header comes before any MQTT byte; the address it names replaces the proxy's own.
      if (proxy !== undefined) acceptProxied(socket, address, proxy, onConnection);
      else onConnection(socket, address);
    });
    limitConnections(server, options, onDrop);
    wrap?.(server);
    const port = await listenOne(server, options.port, host, options.unixSocketPath);
    // Plain TCP without a PROXY header: accepted handles are served without a net.Socket (tcp-stream.ts).
    if (proxy === undefined && options.unixSocketPath === undefined)
      acceptRaw(server, options.setTcpNodelay, onConnection);
    const family =
      options.unixSocketPath !== undefined ? 'unix' : host !== undefined && isIPv6(host) ? 'ipv6' : 'ipv4';
    const where = options.unixSocketPath !== undefined ? `path ${options.unixSocketPath}` : `port ${port}`;
    opened.push(new NetListener(server, `${family} listen socket on ${where}`, port));
  }
  return opened;
}

/** Told the address of a connection refused by `max_connections` (Node resets it: the `drop` event). */
export type DropHandler = (remoteAddress: string) => void;

/** Applies `max_connections` to a server; connections beyond it are reset by Node and reported to `onDrop`. */
export function limitConnections(
  server: Server,
  options: ListenerOptions,
  onDrop: DropHandler | undefined,
): void {
  if (options.maxConnections < 0) return;
  server.maxConnections = options.maxConnections;
  if (onDrop !== undefined) server.on('drop', (d) => onDrop(d?.remoteAddress ?? 'unknown'));
}
