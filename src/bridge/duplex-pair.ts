// Two connected in-memory streams: what one writes the other reads, with back-pressure both ways.
// The local side of a bridge is a client of the local broker over such a pair (no socket, no loopback port).

import { Duplex } from 'node:stream';

class PairEnd extends Duplex {
  peer: PairEnd | undefined;
  /** Callback of a write that the peer's read buffer could not take yet; released when the peer reads. */
  private blocked: (() => void) | null = null;
  bytesWritten = 0;
  bytesRead = 0;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer === undefined || peer.destroyed) {
      callback();
      return;
    }
    this.bytesWritten += chunk.length;
    peer.bytesRead += chunk.length;
    if (peer.push(chunk)) callback();
    else peer.blocked = callback;
  }

  override _read(): void {
    const release = this.blocked;
    if (release === null) return;
    this.blocked = null;
    release();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer?.push(null);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const peer = this.peer;
    if (peer !== undefined && !peer.destroyed) peer.destroy();
    const release = this.blocked;
    this.blocked = null;
    release?.();
    callback(error);
  }
}

export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
