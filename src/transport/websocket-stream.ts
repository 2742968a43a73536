// A duplex byte stream over one WebSocket, so the broker reads MQTT from WebSocket clients as from sockets.

import { Duplex } from 'node:stream';
import WebSocket from 'ws';

/**
 * Binary messages in become bytes out of `read`; bytes written become binary messages. Writes of one tick
 * (the connection corks them) leave as a single frame. Back-pressure both ways: a full read buffer pauses the
 * WebSocket, and a write completes only once the socket has taken it, so `writableLength` counts unsent bytes.
 */
export class WebSocketDuplex extends Duplex {
  constructor(
    private readonly ws: WebSocket,
    /** Called once, at the first bytes the broker writes (its CONNACK): ends the pre-CONNACK guard. */
    private onFirstWrite?: () => void,
  ) {
    super({ allowHalfOpen: false });
    ws.on('message', (data: Buffer, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('close', () => this.onClosed());
    // Protocol errors (bad frames, oversize messages): ws has already started closing; end quietly.
    ws.on('error', () => this.onClosed());
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (!isBinary) {
      // [MQTT-6.0.0-1] MQTT travels in binary frames; any other data frame closes the connection.
      this.ws.close(1003, 'MQTT needs binary frames');
      this.onClosed();
      return;
    }
    if (!this.push(data)) this.ws.pause();
  }

  private onClosed(): void {
    if (this.destroyed) return;
    this.push(null);
    this.destroy();
  }

  override _read(): void {
    if (this.ws.isPaused) this.ws.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.send(chunk, callback);
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    this.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk)), callback);
  }

  private send(data: Buffer, callback: (error?: Error | null) => void): void {
    if (this.onFirstWrite !== undefined) {
      this.onFirstWrite();
      this.onFirstWrite = undefined;
    }
    // Bytes for a connection already closing are dropped, as a closed TCP socket would.
    if (this.ws.readyState !== WebSocket.OPEN) {
      callback();
      return;
    }
    this.ws.send(data, { binary: true }, () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    // The close frame is queued behind everything already sent.
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING)
      this.ws.terminate();
    else if (this.ws.readyState === WebSocket.CLOSING) {
      // Do not wait for a peer that never answers our close frame.
      const timer = setTimeout(() => this.ws.terminate(), 2000);
      timer.unref();
    }
    callback(error);
  }
}
