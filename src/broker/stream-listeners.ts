// The four listeners every connection's stream gets, shared by all connections: each finds its connection
// through a symbol property of the stream, so an idle connection costs no closure per event (idle memory).

import type { Duplex } from 'node:stream';

/** What the shared listeners call on the connection that owns a stream. */
export interface StreamOwner {
  onData(chunk: Buffer): void;
  onStreamError(err: Error): void;
  onStreamClosed(): void;
  onDrain(): void;
}

const OWNER = Symbol('culex.connection');
interface Owned {
  [OWNER]: StreamOwner;
}

/** Binds `stream` to `owner` through the shared listeners. */
export function attachStream(stream: Duplex, owner: StreamOwner): void {
  (stream as Duplex & Owned)[OWNER] = owner;
  stream.on('data', streamData);
  stream.on('error', streamError);
  stream.on('close', streamClosed);
  stream.on('drain', streamDrain);
}

function streamData(this: Duplex & Owned, chunk: Buffer): void {
  this[OWNER].onData(chunk);
}

function streamError(this: Duplex & Owned, err: Error): void {
  this[OWNER].onStreamError(err);
}

function streamClosed(this: Duplex & Owned): void {
  this[OWNER].onStreamClosed();
}

function streamDrain(this: Duplex & Owned): void {
  this[OWNER].onDrain();
}

/** A 'finish' listener: the last bytes are out, nothing more is read (closed before CONNACK). */
export function destroyAfterFinish(this: Duplex): void {
  this.destroy();
}

/** A timer callback: the peer never finished the close. */
export function destroyStream(stream: Duplex): void {
  stream.destroy();
}
