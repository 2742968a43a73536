// `ws` hands over only whole WebSocket messages, and buffers a message until it is complete (up to the largest MQTT
// packet, 256 MiB). Before the broker has answered with a CONNACK nobody is authenticated, so the bytes a
// WebSocket client may make us buffer are bounded here, per connection and for all of them together, as the
// broker's decoder bounds them for TCP (docs/limits.md). The first byte the broker writes (its CONNACK, or a
// refusal followed by a close) ends the guard.

import type { Socket } from 'node:net';

/** Raw bytes one WebSocket connection may send before the broker's first answer: two pre-CONNACK packets' worth. */
export const WS_PRE_CONNACK_BYTES = 2 * 1024 * 1024 + 64 * 1024;
/** Raw bytes all WebSocket connections together may have sent before their CONNACK. */
export const WS_PRE_CONNACK_TOTAL = 64 * 1024 * 1024;

let total = 0;

export class PreConnackGuard {
  private received = 0;
  private done = false;
  private readonly count = (chunk: Buffer): void => this.onData(chunk);
  private readonly closed = (): void => this.release();

  constructor(
    private readonly socket: Socket,
    private readonly onExceeded: (why: string) => void,
  ) {
    socket.on('data', this.count);
    socket.once('close', this.closed);
  }

  /** Bytes all guarded connections hold now (for tests). */
  static get totalBytes(): number {
    return total;
  }

  private onData(chunk: Buffer): void {
    if (this.done) return;
    this.received += chunk.length;
    total += chunk.length;
    if (this.received > WS_PRE_CONNACK_BYTES) this.exceed('sent too much before CONNACK');
    else if (total > WS_PRE_CONNACK_TOTAL)
      this.exceed('too much buffered by unauthenticated WebSocket clients');
  }

  private exceed(why: string): void {
    this.release();
    this.onExceeded(why);
    this.socket.destroy();
  }

  /** The broker answered (or the socket closed): from now on only the broker's own limits apply. */
  release(): void {
    if (this.done) return;
    this.done = true;
    total -= this.received;
    this.received = 0;
    this.socket.off('data', this.count);
    // Nothing of the guard stays with the connection once it is done.
    this.socket.off('close', this.closed);
  }
}
