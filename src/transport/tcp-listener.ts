// Plain TCP listeners (and Unix domain sockets, which Node serves through the same `net` server).

import cluster from 'node:cluster';
import { lstatSync, unlinkSync } from 'node:fs';
import { type AddressInfo, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { ConnectionHandler, Listener } from './listener.js';
import type { ListenerOptions } from './listener-options.js';
import { acceptProxied } from './proxy-accept.js';

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

/** Address text as Mosquitto logs it: "127.0.0.1:50000", or the socket path for Unix sockets. */
export function peerAddress(socket: Socket, fallback: string): string {
  const address = socket.remoteAddress;
  if (address === undefined) return fallback;
  return `${address.startsWith('::ffff:') ? address.slice(7) : address}:${socket.remotePort ?? 0}`;
}

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
      const address = peerAddress(socket, options.unixSocketPath ?? 'unix');
      // The PROXY header comes before any MQTT byte; the address it names replaces the proxy's own.
      if (proxy !== undefined) acceptProxied(socket, address, proxy, onConnection);
      else onConnection(socket, address);
    });
    limitConnections(server, options, onDrop);
    wrap?.(server);
    const port = await listenOne(server, options.port, host, options.unixSocketPath);
    const family =
      options.unixSocketPath !== undefined ? 'unix' : host !== undefined && isIPv6(host) ? 'ipv6' : 'ipv4';
    const where = options.unixSocketPath !== undefined ? `path ${options.unixSocketPath}` : `port ${port}`;
    opened.push(new NetListener(server, `${family} listen socket on ${where}`, port));
  }
  return opened;
}

/** A read at least this large marks a busy connection: its next read goes into a private buffer, uncopied. */
const BUSY_READ = 16 * 1024;
/**
 * A private read buffer holds a 64 KiB payload with its header, so such a PUBLISH arrives in one read. Not
 * more: a flood of large messages pins and discards these buffers, and twice the size measurably raised the
 * broker's peak RSS (test/broker/slow-subscriber.test.ts).
 */
const PRIVATE_READ = 66 * 1024;
/** Quiet connections all read into this buffer; what they read is copied out at once (a few bytes). */
const sharedRead = Buffer.allocUnsafeSlow(BUSY_READ);
/**
 * The buffer for the next read of the socket that has just read. Node asks for it (nextReadBuffer) right after
 * the read callback (onReadData) returns, so one variable serves every socket and none needs a closure.
 */
let chosenRead: Buffer = sharedRead;

function nextReadBuffer(): Buffer {
  const buf = chosenRead;
  chosenRead = sharedRead;
  return buf;
}

/** Node calls this as a method of the socket, with the bytes just read into the buffer it was given. */
function onReadData(this: Socket, n: number, buf: Uint8Array): boolean {
  let chunk: Buffer;
  if (buf === sharedRead) {
    chunk = Buffer.allocUnsafe(n);
    sharedRead.copy(chunk, 0, 0, n);
  } else {
    chunk = (buf as Buffer).subarray(0, n);
  }
  this.emit('data', chunk);
  chosenRead = n >= BUSY_READ ? Buffer.allocUnsafeSlow(PRIVATE_READ) : sharedRead;
  return true;
}

/** Node's private Socket fields behind its `onread` option, found once by their descriptions. */
interface ReadKeys {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}
let readKeys: ReadKeys | null | undefined;

function findReadKeys(socket: Socket): ReadKeys | null {
  const byName = new Map(Object.getOwnPropertySymbols(socket).map((k) => [k.description, k]));
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  return buffer && callback && generator ? { buffer, callback, generator } : null;
}

/**
 * Makes an accepted (paused) socket read into buffers we choose, as Node's `onread` option does for client
 * sockets (`net.Server` does not offer it). Node's own reads stop at 64 KiB, so a 64 KiB PUBLISH always arrived
 * in two pieces that the decoder had to join (a 64 KiB copy per message, the largest cost of the large-payload
 * benchmark); a busy connection now gets a 66 KiB buffer and the packet is decoded where the kernel put it.
 * Idle connections share one buffer, so none holds a read buffer of its own. Chunks are still emitted as
 * 'data' and never reused, as with Node's reads. Should a Node version lack these fields, the socket simply
 * reads the usual way.
 */
function withReadBuffers(socket: Socket): Socket {
  const handle = (socket as unknown as { _handle: { useUserBuffer?: (buf: Uint8Array) => void } | null })
    ._handle;
  if (readKeys === undefined) readKeys = findReadKeys(socket);
  if (readKeys !== null && handle !== null && typeof handle.useUserBuffer === 'function') {
    const fields = socket as unknown as Record<symbol, unknown>;
    fields[readKeys.buffer] = sharedRead;
    fields[readKeys.callback] = onReadData;
    fields[readKeys.generator] = nextReadBuffer;
    chosenRead = sharedRead;
    handle.useUserBuffer(sharedRead);
  }
  socket.resume();
  return socket;
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
