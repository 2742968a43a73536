// Node.js private internals behind the TCP listener's light path (tcp-stream.ts): the accepted TCP handle
// (TCPWrap) used directly, without a net.Socket, and the `stream_wrap` binding its writes need. Kept in one
// place; test/transport/socket-internals.test.ts fails when a Node release changes them (the listener then
// falls back to net.Socket, working but slower and larger, so the failing test is how it is noticed).

import type { Server } from 'node:net';
import { getSystemErrorName } from 'node:util';

/** The parts of Node's TCPWrap that TcpStream uses. */
export interface TcpHandle {
  onread: (() => Uint8Array | undefined) | null;
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: ShutdownReq): number;
  /** The callback is called as a method of the handle. */
  close(callback: (this: TcpHandle) => void): void;
  setNoDelay(on: boolean): number;
  getpeername(out: { address: string | undefined; port: number | undefined }): number;
}

/** A write request: Node's WriteWrap, with the fields TcpStream keeps on it. */
export interface WriteReq {
  handle: TcpHandle | null;
  oncomplete: (this: WriteReq, status: number) => void;
  /** Keeps the written bytes alive until libuv has sent them. */
  buffer: Uint8Array | Uint8Array[] | null;
  bytes: number;
}

export interface ShutdownReq {
  handle: TcpHandle;
  oncomplete: (this: ShutdownReq, status: number) => void;
}

interface StreamWrapBinding {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

/** What the light path needs from Node's bindings, or null on a Node release that lacks any of it. */
export interface RawTcp {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  /** Filled by every read and write: bytes read (or an error), whether the last write went asynchronous. */
  state: Int32Array;
  readBytesAt: number;
  lastWriteAsyncAt: number;
  /** libuv's UV_EOF and UV_ENOTCONN. */
  eof: number;
  notConnected: number;
}

function loadRawTcp(): RawTcp | null {
  try {
    // process.binding: the deprecated public door to these bindings (DEP0111, a warning only with
    // --pending-deprecation); net.js reaches the same objects through internalBinding.
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    const wrap = binding('stream_wrap') as Partial<StreamWrapBinding>;
    const uv = binding('uv') as { UV_EOF?: unknown; UV_ENOTCONN?: unknown };
    if (
      typeof wrap.WriteWrap !== 'function' ||
      typeof wrap.ShutdownWrap !== 'function' ||
      !(wrap.streamBaseState instanceof Int32Array) ||
      typeof wrap.kReadBytesOrError !== 'number' ||
      typeof wrap.kLastWriteWasAsync !== 'number' ||
      typeof uv.UV_EOF !== 'number' ||
      typeof uv.UV_ENOTCONN !== 'number'
    )
      return null;
    return {
      WriteWrap: wrap.WriteWrap,
      ShutdownWrap: wrap.ShutdownWrap,
      state: wrap.streamBaseState,
      readBytesAt: wrap.kReadBytesOrError,
      lastWriteAsyncAt: wrap.kLastWriteWasAsync,
      eof: uv.UV_EOF,
      notConnected: uv.UV_ENOTCONN,
    };
  } catch {
    return null;
  }
}

export const rawTcp: RawTcp | null = loadRawTcp();

/** net.Server's private connection count and listen handle, kept up to date so close() and maxConnections work. */
export interface ServerInternals {
  _connections: number;
  _emitCloseIfDrained?: () => void;
  maxConnections?: number;
  _handle: {
    onconnection?: (this: unknown, err: number, client?: TcpHandle) => void;
    setNoDelay?: (on: boolean) => number;
  } | null;
}

export function serverInternals(server: Server): ServerInternals {
  return server as unknown as ServerInternals;
}

/** Whether an accepted handle has every method the light path calls. */
export function isTcpHandle(client: unknown): client is TcpHandle {
  const h = client as Partial<Record<keyof TcpHandle, unknown>> | undefined;
  return (
    h !== undefined &&
    typeof h.readStart === 'function' &&
    typeof h.readStop === 'function' &&
    typeof h.useUserBuffer === 'function' &&
    typeof h.writeBuffer === 'function' &&
    typeof h.writev === 'function' &&
    typeof h.shutdown === 'function' &&
    typeof h.close === 'function' &&
    typeof h.setNoDelay === 'function' &&
    typeof h.getpeername === 'function'
  );
}

/** An Error as Node's errnoException makes it: "read ECONNRESET", with errno, code and syscall. */
export function errnoError(errno: number, syscall: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  const err: NodeJS.ErrnoException = new Error(`${syscall} ${code}`);
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  return err;
}
