// Node.js private Socket internals the TCP listener depends on, kept in one place: the fields behind the `onread`
// option (read buffers we choose) and the handle's getpeername (the peer's address without Node's cached copy).
// test/transport/socket-internals.test.ts fails when a Node release changes them; the broker then still works,
// with Node's own (costlier) reads and address cache.

import type { Socket } from 'node:net';

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

/** The `n` bytes just read into `buf`: copied out of the shared buffer, or the private buffer itself. */
export function readChunk(buf: Uint8Array, n: number): Buffer {
  if (buf !== sharedRead) return (buf as Buffer).subarray(0, n);
  const chunk = Buffer.allocUnsafe(n);
  sharedRead.copy(chunk, 0, 0, n);
  return chunk;
}

/** Where a connection that has just read `n` bytes reads next. */
export function readBufferAfter(n: number): Buffer {
  return n >= BUSY_READ ? Buffer.allocUnsafeSlow(PRIVATE_READ) : sharedRead;
}

/** The buffer every connection starts reading into. */
export function firstReadBuffer(): Buffer {
  return sharedRead;
}

/** Node calls this as a method of the socket, with the bytes just read into the buffer it was given. */
function onReadData(this: Socket, n: number, buf: Uint8Array): boolean {
  this.emit('data', readChunk(buf, n));
  chosenRead = readBufferAfter(n);
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
 * reads the usual way (test/transport/socket-internals.test.ts fails on such a version, so it is noticed).
 */
export function withReadBuffers(socket: Socket): Socket {
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

/** The parts of a TCP handle used here (Node's TCPWrap). */
interface PeerOut {
  address: string | undefined;
  port: number | undefined;
}
interface PeerHandle {
  getpeername?: (out: PeerOut) => number;
}

/** Filled by each getpeername and read at once; one object for every accept. */
const peer: PeerOut = { address: undefined, port: undefined };

/**
 * "127.0.0.1:50000" for an accepted TCP socket, read from its handle directly: `socket.remoteAddress` would keep
 * an `{ address, family, port }` object and a second address string on every socket for as long as it lives
 * (~90 bytes per idle connection), while the broker keeps only this text. Other sockets (Unix) give `fallback`.
 */
export function acceptedPeerAddress(socket: Socket, fallback: string): string {
  const handle = (socket as unknown as { _handle: PeerHandle | null })._handle;
  return (handle !== null && handlePeerAddress(handle)) || peerAddress(socket, fallback);
}

/** The peer address of a TCP handle as Mosquitto logs it, or undefined if the handle cannot tell. */
export function handlePeerAddress(handle: PeerHandle): string | undefined {
  if (typeof handle.getpeername !== 'function') return undefined;
  // peer.address is undefined here: it is cleared after every read, so no stale address can be taken.
  const failed = handle.getpeername(peer) !== 0;
  const address = peer.address;
  peer.address = undefined;
  if (failed || address === undefined) return undefined;
  // join() makes one flat string; a template literal would keep a cons string and its two halves (~100 bytes
  // instead of ~32 for "127.0.0.1:50000") for as long as the connection lives.
  return [address.startsWith('::ffff:') ? address.slice(7) : address, peer.port ?? 0].join(':');
}

/** Address text as Mosquitto logs it: "127.0.0.1:50000", or the socket path for Unix sockets. */
export function peerAddress(socket: Socket, fallback: string): string {
  const address = socket.remoteAddress;
  if (address === undefined) return fallback;
  return `${address.startsWith('::ffff:') ? address.slice(7) : address}:${socket.remotePort ?? 0}`;
}

/** For the guard test: whether this socket reads into the listener's buffers (the private fields were found). */
export function readsIntoOwnBuffers(socket: Socket): boolean {
  const keys = readKeys;
  if (keys === undefined || keys === null) return false;
  return (socket as unknown as Record<symbol, unknown>)[keys.callback] === onReadData;
}
