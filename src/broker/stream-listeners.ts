// The byte stream a connection reads and writes, and the four listeners every connection's stream gets, shared
// by all connections: each finds its connection through a symbol property of the stream, so an idle connection
// costs no closure per event (idle memory). A stream that can call its owner directly (the TCP listener's
// TcpStream) is adopted instead, with no listener at all.

/** What the shared listeners call on the connection that owns a stream. */
export interface StreamOwner {
  onData(chunk: Buffer): void;
  onStreamError(err: Error): void;
  onStreamClosed(): void;
  onDrain(): void;
}

/** What a Connection needs of its stream: a Node Duplex has it all, a TcpStream only this. */
export interface ByteStream {
  readonly writableLength: number;
  readonly destroyed: boolean;
  write(chunk: Buffer): boolean;
  cork(): void;
  uncork(): void;
  end(): unknown;
  destroy(error?: Error): unknown;
  pause(): unknown;
  resume(): unknown;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'close' | 'drain' | 'finish', listener: () => void): unknown;
  once(event: 'close' | 'drain' | 'finish', listener: () => void): unknown;
  /** Present on streams that call their owner's methods themselves (no listeners). */
  adopt?(owner: StreamOwner): void;
}

const OWNER = Symbol('culex.connection');
interface Owned {
  [OWNER]: StreamOwner;
}

/** Binds `stream` to `owner`: directly when the stream offers it, else through the shared listeners. */
export function attachStream(stream: ByteStream, owner: StreamOwner): void {
  if (stream.adopt !== undefined) {
    stream.adopt(owner);
    return;
  }
  (stream as ByteStream & Owned)[OWNER] = owner;
  stream.on('data', streamData);
  stream.on('error', streamError);
  stream.on('close', streamClosed);
  stream.on('drain', streamDrain);
}

function streamData(this: Owned, chunk: Buffer): void {
  this[OWNER].onData(chunk);
}

function streamError(this: Owned, err: Error): void {
  this[OWNER].onStreamError(err);
}

function streamClosed(this: Owned): void {
  this[OWNER].onStreamClosed();
}

function streamDrain(this: Owned): void {
  this[OWNER].onDrain();
}

/** A 'finish' listener: the last bytes are out, nothing more is read (closed before CONNACK). */
export function destroyAfterFinish(this: ByteStream): void {
  this.destroy();
}

/** A timer callback: the peer never finished the close. */
export function destroyStream(stream: ByteStream): void {
  stream.destroy();
}
