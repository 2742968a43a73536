// A plain TCP connection served straight from its libuv handle, without a net.Socket: the Socket, its two
// stream states, its listener tables and its per-write bookkeeping were half of the CPU time of a connect and
// ~600 bytes of every idle connection (docs/performance.md). It does what Connection needs (ByteStream), with
// net.Socket's semantics for them: writes in order, cork/uncork, 'drain' below the high-water mark, end() =
// flush then shutdown, the peer's FIN ends our side too (allowHalfOpen false), 'close' once the handle is closed.

import type { Server } from 'node:net';
import type { ByteStream, StreamOwner } from '../broker/stream-listeners.js';
import { firstReadBuffer, handlePeerAddress, readBufferAfter, readChunk } from './socket-internals.js';
import {
  errnoError,
  isTcpHandle,
  type RawTcp,
  rawTcp,
  type ServerInternals,
  type ShutdownReq,
  serverInternals,
  type TcpHandle,
  type WriteReq,
} from './tcp-handle.js';

/** net.Socket's default high-water mark on Node 20: write() returns false from this many bytes pending. */
const HIGH_WATER = 16 * 1024;

/** Bits of TcpStream.flags: reading started; paused; the peer sent FIN; end() called; our side shut down; a
 * writer was told to wait for 'drain'. */
const Bit = { reading: 1, paused: 2, readEnded: 4, ending: 8, finished: 16, needDrain: 32 } as const;

type StreamEvent = 'data' | 'error' | 'close' | 'drain' | 'finish';
type Listener = (this: TcpStream, arg?: unknown) => void;

/**
 * The handle's slot for the stream that owns it: Node's own `owner_symbol` (net.js keeps its Socket there; TCPWrap
 * objects are made with it, set to null), so that no property is added to each handle (its property array would
 * grow: 64 bytes instead of 40, and a copy made per accept). A symbol of ours if a Node release lacks it.
 */
let ownerKey: symbol | undefined;
function ownerSlot(handle: object): symbol {
  ownerKey ??=
    Object.getOwnPropertySymbols(handle).find((k) => k.description === 'owner_symbol') ??
    Symbol('culex.tcpStream');
  return ownerKey;
}

type Owned = Record<symbol, TcpStream>;

function streamOf(handle: object): TcpStream {
  return (handle as Owned)[ownerKey!]!;
}

export class TcpStream implements ByteStream {
  bytesRead = 0;
  bytesWritten = 0;
  /** Bytes written and not yet taken by the kernel, plus those held while corked. */
  writableLength = 0;
  destroyed = false;
  private owner: StreamOwner | null = null;
  private handle: TcpHandle | null;
  /** The buffer the handle reads into next (the shared one, or a private one after a large read). */
  private readInto: Buffer = firstReadBuffer();
  /** Six states as bits of one field (Bit.reading...): 8 bytes instead of 48 in every idle connection. */
  private flags = 0;
  private corks = 0;
  private corked: Buffer[] | null = null;
  private writes = 0;
  /** Listeners added with on/once (rare: bulk sends waiting for 'drain'), as [event, listener, once] triples. */
  private listeners: (StreamEvent | Listener | boolean)[] | null = null;

  constructor(
    handle: TcpHandle,
    private readonly server: ServerInternals,
  ) {
    this.handle = handle;
    (handle as unknown as Owned)[ownerSlot(handle)] = this;
    handle.onread = onTcpRead;
    handle.useUserBuffer(this.readInto);
  }

  private is(bit: number): boolean {
    return (this.flags & bit) !== 0;
  }

  private mark(bit: number, on: boolean): void {
    this.flags = on ? this.flags | bit : this.flags & ~bit;
  }

  adopt(owner: StreamOwner): void {
    this.owner = owner;
  }

  /** @internal the handle read `n` bytes (or an error / the end when n < 0) */
  received(n: number, raw: RawTcp): Buffer | undefined {
    if (n > 0) {
      this.bytesRead += n;
      const chunk = readChunk(this.readInto, n);
      this.readInto = readBufferAfter(n);
      if (!this.destroyed) {
        if (this.owner !== null) this.owner.onData(chunk);
        else this.emit('data', chunk);
      }
      return this.readInto;
    }
    if (n === 0) return undefined;
    if (n === raw.eof) this.readEnd();
    else this.destroy(errnoError(n, 'read'));
    return undefined;
  }

  /** The peer sent FIN: end our side as well, and close once our last bytes are out. */
  private readEnd(): void {
    this.mark(Bit.readEnded, true);
    this.mark(Bit.reading, false);
    if (this.is(Bit.finished)) this.destroy();
    else this.end();
  }

  startReading(): void {
    if (this.is(Bit.reading | Bit.paused | Bit.readEnded) || this.handle === null) return;
    this.mark(Bit.reading, true);
    const err = this.handle.readStart();
    if (err !== 0 && err !== undefined) this.destroy(errnoError(err, 'read'));
  }

  pause(): this {
    this.mark(Bit.paused, true);
    if (this.is(Bit.reading) && this.handle !== null) {
      this.mark(Bit.reading, false);
      this.handle.readStop();
    }
    return this;
  }

  resume(): this {
    this.mark(Bit.paused, false);
    this.startReading();
    return this;
  }

  write(chunk: Buffer): boolean {
    if (this.destroyed || this.is(Bit.ending)) return false;
    if (this.corks > 0) {
      if (this.corked === null) this.corked = [chunk];
      else this.corked.push(chunk);
      this.writableLength += chunk.length;
    } else this.dispatch(chunk, chunk.length);
    return this.belowHighWater();
  }

  private belowHighWater(): boolean {
    if (this.writableLength < HIGH_WATER) return true;
    this.mark(Bit.needDrain, true);
    return false;
  }

  cork(): void {
    this.corks++;
  }

  uncork(): void {
    if (this.corks === 0 || --this.corks > 0) return;
    const chunks = this.corked;
    if (chunks === null || this.destroyed) return;
    this.corked = null;
    let bytes = 0;
    for (const c of chunks) bytes += c.length;
    this.writableLength -= bytes;
    this.dispatch(chunks.length === 1 ? chunks[0]! : chunks, bytes);
    // Written at once: a writer told to wait for 'drain' while corked is told now (net.Socket does so too).
    if (this.is(Bit.needDrain) && this.writableLength === 0) process.nextTick(emitDrain, this);
  }

  private dispatch(data: Buffer | Buffer[], bytes: number): void {
    const handle = this.handle;
    const raw = rawTcp;
    if (handle === null || raw === null) return;
    const req = spareWrite ?? new raw.WriteWrap();
    spareWrite = null;
    req.handle = handle;
    req.oncomplete = afterWrite;
    req.bytes = bytes;
    const err = Array.isArray(data) ? handle.writev(req, data, true) : handle.writeBuffer(req, data);
    if (err !== 0) {
      this.destroy(errnoError(err, 'write'));
      return;
    }
    this.bytesWritten += bytes;
    if (raw.state[raw.lastWriteAsyncAt] !== 0) {
      req.buffer = data;
      this.writableLength += bytes;
      this.writes++;
    } else {
      // Kept without its handle: a spare must not keep the last connection written to alive.
      req.handle = null;
      spareWrite = req;
    }
  }

  /** @internal a write that went asynchronous has completed */
  written(req: WriteReq, status: number): void {
    this.writes--;
    this.writableLength -= req.bytes;
    if (this.destroyed) return;
    if (status < 0) {
      this.destroy(errnoError(status, 'write'));
      return;
    }
    if (this.writes > 0) return;
    if (this.is(Bit.ending)) {
      if (this.corked === null) this.shutdown();
      return;
    }
    if (this.writableLength === 0) emitDrain(this);
  }

  end(): this {
    if (this.is(Bit.ending) || this.destroyed) return this;
    if (this.corks > 0) {
      this.corks = 1;
      this.uncork();
    }
    this.mark(Bit.ending, true);
    if (this.writes === 0 && !this.destroyed) this.shutdown();
    return this;
  }

  private shutdown(): void {
    const handle = this.handle;
    const raw = rawTcp;
    if (handle === null || raw === null) return;
    const req = new raw.ShutdownWrap();
    req.handle = handle;
    req.oncomplete = afterShutdown;
    const err = handle.shutdown(req);
    // net.js: 1 = done at once; ENOTCONN = the peer is gone already, nothing left to shut down.
    if (err === 1 || err === raw.notConnected) this.shutDown();
    else if (err !== 0) this.destroy(errnoError(err, 'shutdown'));
  }

  /** @internal our side is shut down: 'finish', then close if the peer has ended too */
  shutDown(): void {
    if (this.is(Bit.finished) || this.destroyed) return;
    this.mark(Bit.finished, true);
    this.emit('finish');
    if (this.is(Bit.readEnded)) this.destroy();
  }

  destroy(error?: Error): this {
    if (this.destroyed) return this;
    this.destroyed = true;
    this.corked = null;
    const handle = this.handle;
    if (handle !== null) {
      this.handle = null;
      this.mark(Bit.reading, false);
      handle.onread = ignoreRead;
      handle.close(onHandleClosed);
    }
    if (error !== undefined) process.nextTick(emitError, this, error);
    return this;
  }

  /** @internal the handle is closed: the end of this stream */
  closed(): void {
    const server = this.server;
    server._connections--;
    server._emitCloseIfDrained?.();
    if (this.owner !== null) this.owner.onStreamClosed();
    this.emit('close');
  }

  /** @internal */
  errored(error: Error): void {
    if (this.owner !== null) this.owner.onStreamError(error);
    else this.emit('error', error);
  }

  on(event: 'data', listener: (chunk: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'close' | 'drain' | 'finish', listener: () => void): this;
  on(event: StreamEvent, listener: (arg: never) => void): this {
    this.listen(event, listener as Listener, false);
    return this;
  }

  once(event: 'close' | 'drain' | 'finish', listener: () => void): this {
    this.listen(event, listener as Listener, true);
    return this;
  }

  private listen(event: StreamEvent, listener: Listener, onlyOnce: boolean): void {
    if (this.listeners === null) this.listeners = [];
    this.listeners.push(event, listener, onlyOnce);
  }

  /** @internal */
  emit(event: StreamEvent, arg?: unknown): void {
    const all = this.listeners;
    if (all === null) return;
    for (let i = 0; i < all.length; i += 3) {
      if (all[i] !== event) continue;
      const listener = all[i + 1] as Listener;
      if (all[i + 2] === true) {
        all.splice(i, 3);
        i -= 3;
      }
      listener.call(this, arg);
    }
  }

  /** @internal drain was due */
  drained(): void {
    if (!this.is(Bit.needDrain) || this.destroyed) return;
    this.mark(Bit.needDrain, false);
    if (this.owner !== null) this.owner.onDrain();
    this.emit('drain');
  }
}

function onTcpRead(this: TcpHandle): Uint8Array | undefined {
  const raw = rawTcp!;
  return streamOf(this).received(raw.state[raw.readBytesAt]!, raw);
}

function ignoreRead(): undefined {
  return undefined;
}

function afterWrite(this: WriteReq, status: number): void {
  streamOf(this.handle!).written(this, status);
  this.buffer = null;
}

function afterShutdown(this: ShutdownReq): void {
  streamOf(this.handle).shutDown();
}

function onHandleClosed(this: TcpHandle): void {
  streamOf(this).closed();
}

function emitError(stream: TcpStream, error: Error): void {
  stream.errored(error);
}

function emitDrain(stream: TcpStream): void {
  stream.drained();
}

/**
 * A write request the kernel took at once is not kept by Node (its C++ side is only made for a write that has
 * to wait), so it serves the next write too: one object less per write. One that waits is its write's own.
 */
let spareWrite: WriteReq | null = null;

/** Set on the listener's accept path: the handle of each accepted connection and its peer address. */
export type RawAccept = (stream: TcpStream, remoteAddress: string) => void;

/**
 * Takes over a listening server's accept callback so that accepted TCP connections become TcpStreams instead
 * of net.Sockets. Errors, connections beyond maxConnections (Node resets them and emits 'drop') and any handle
 * that is not a TCP handle still go through Node's own accept. False if this Node lacks the internals.
 */
export function acceptRaw(server: Server, noDelay: boolean, onAccept: RawAccept): boolean {
  const internals = serverInternals(server);
  const listening = internals._handle;
  const nodeAccept = listening?.onconnection;
  if (rawTcp === null || listening === null || typeof nodeAccept !== 'function') return false;
  const perConnectionNoDelay = noDelay && !inheritedNoDelay(listening);
  listening.onconnection = function accept(this: unknown, err: number, client?: TcpHandle): void {
    const max = internals.maxConnections;
    if (
      err !== 0 ||
      !isTcpHandle(client) ||
      (typeof max === 'number' && max > 0 && internals._connections >= max)
    ) {
      nodeAccept.call(this, err, client);
      return;
    }
    if (perConnectionNoDelay) client.setNoDelay(true);
    internals._connections++;
    const stream = new TcpStream(client, internals);
    onAccept(stream, handlePeerAddress(client) ?? 'unknown');
    stream.startReading();
  };
  return true;
}

/**
 * Linux copies TCP_NODELAY from a listening socket to the sockets it accepts (the child sock is a clone of the
 * listener's), so one setsockopt on the listener replaces one per connection. Elsewhere: per connection.
 */
function inheritedNoDelay(listening: NonNullable<ServerInternals['_handle']>): boolean {
  if (process.platform !== 'linux' || typeof listening.setNoDelay !== 'function') return false;
  return listening.setNoDelay(true) === 0;
}

/** For the guard test: whether a connection's stream is served by the light path. */
export function isTcpStream(stream: unknown): stream is TcpStream {
  return stream instanceof TcpStream;
}
