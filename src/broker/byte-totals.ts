// Network bytes read and written by every client connection since start, closed connections included: the
// sockets' own counters, summed when asked (and once more when a connection closes), never per packet.

import type { BrokerCore } from './broker-core.js';
import type { Connection } from './connection.js';

interface ByteMarks {
  read: number;
  written: number;
}

interface StreamCounters {
  bytesRead?: unknown;
  bytesWritten?: unknown;
}

export class ByteTotals {
  received = 0;
  sent = 0;
  /** Per connection: the stream's byte counters already added to the totals. */
  private readonly marks = new WeakMap<Connection, ByteMarks>();
  private readonly onDisconnected = (info: unknown): void => {
    // ClientInfo is the Connection itself; its socket is gone by the next sample, so count it now.
    this.count(info as Connection);
  };

  constructor(private readonly broker: BrokerCore) {}

  start(): void {
    this.broker.on('clientDisconnected', this.onDisconnected);
  }

  stop(): void {
    this.broker.off('clientDisconnected', this.onDisconnected);
  }

  /** Adds what every open socket read and wrote since the last look (streams without counters add nothing). */
  sample(): void {
    for (const conn of this.broker.connections) this.count(conn);
  }

  private count(conn: Connection): void {
    const stream = conn.stream as unknown as StreamCounters;
    const read = typeof stream.bytesRead === 'number' ? stream.bytesRead : 0;
    const written = typeof stream.bytesWritten === 'number' ? stream.bytesWritten : 0;
    const marks = this.marks.get(conn);
    if (marks === undefined) {
      this.marks.set(conn, { read, written });
      this.received += read;
      this.sent += written;
      return;
    }
    this.received += Math.max(0, read - marks.read);
    this.sent += Math.max(0, written - marks.written);
    marks.read = read;
    marks.written = written;
  }
}
