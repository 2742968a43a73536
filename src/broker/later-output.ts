// Output held for a commit in progress. At the end of a turn whose store writes must be durable first, the
// connection's batch is held (the stream stays corked) until that turn's commit completes (group-commit.ts). With
// an asynchronous store (the cluster's Redis) the next turns run meanwhile: their output must not join the held
// batch, or it would leave with the earlier commit, before its own writes are durable (a PUBACK or PUBREL that a
// crash then contradicts). It waits here instead, one segment per commit, and goes in order as the commits complete.

import type { Connection } from './connection.js';
import { joinChunks } from './output-join.js';

export class LaterOutput {
  /** The connection's corked batch is held for a commit in progress; later output waits here. */
  sealed = false;
  /** The group commit turn the held batch waits for (broker.commitTurns when it was held). */
  sealedAt = 0;
  private open: Buffer[] = [];
  private openBytes = 0;
  /** Segments held for their own commit, oldest first. */
  private readonly segments: Buffer[] = [];
  private deciding = false;
  /** Bytes waiting here (the connection's backlog counts them). */
  bytes = 0;

  constructor(private readonly connection: Connection) {}

  /** End of the turn: the connection's batch is held for this turn's commit. */
  seal(): void {
    this.sealed = true;
    this.sealedAt = this.connection.broker.commitTurns;
  }

  /** Output written in a later turn while the batch is held; its segment is decided at the end of the turn. */
  add(chunk: Buffer): void {
    this.connection.bytesQueued += chunk.length;
    this.open.push(chunk);
    this.openBytes += chunk.length;
    this.bytes += chunk.length;
    if (!this.deciding) {
      this.deciding = true;
      process.nextTick(decide, this);
    }
  }

  /**
   * The held batch goes (its commit completed, or it needed none). Output of a later turn not yet given its
   * commit is held for it, or joins this batch. True: a held segment became the new held batch (still sealed).
   */
  release(): boolean {
    this.decide();
    if (this.segments.length === 0) {
      this.sealed = false;
      return false;
    }
    // Sealed still: what the stream's readers write back meanwhile waits behind the held segments.
    const stream = this.connection.stream;
    stream.uncork();
    stream.cork();
    this.next();
    return true;
  }

  /**
   * End of the turn (or earlier, when the batch before goes): held for this turn's commit, or with the last
   * segment (or the held batch) when it needs none.
   */
  decide(): void {
    this.deciding = false;
    const bytes = this.openBytes;
    const segment = this.takeOpen();
    if (segment === undefined) return;
    if (this.connection.broker.holdOutput(this.connection)) {
      this.segments.push(segment);
      this.bytes += bytes;
      return;
    }
    const n = this.segments.length;
    if (n > 0) {
      this.segments[n - 1] = Buffer.concat([this.segments[n - 1]!, segment]);
      this.bytes += bytes;
    } else this.write(segment);
  }

  /** The oldest held segment becomes the connection's held batch (the one before it has gone); false: none. */
  private next(): boolean {
    const segment = this.segments.shift();
    if (segment === undefined) return false;
    this.bytes -= segment.length;
    this.write(segment);
    return true;
  }

  /** Writes a segment: into the held batch while there is one, else as new output. */
  private write(segment: Buffer): void {
    if (this.sealed) {
      // Output of the held batch's own turn may still wait in the connection, unjoined: it goes first, or this
      // segment overtakes it (a PINGRESP before PUBACKs; a PUBACK before an earlier one [MQTT-4.6.0-2]).
      this.connection.joinSmall();
      this.connection.stream.write(segment);
    } else this.connection.writeOut(segment);
  }

  /** What was written this turn and not decided yet (the batch before it has just gone). */
  private takeOpen(): Buffer | undefined {
    if (this.openBytes === 0) return undefined;
    const segment = joinChunks(this.open, this.openBytes);
    this.bytes -= this.openBytes;
    this.openBytes = 0;
    return segment;
  }

  /** Forgets everything (the connection is aborted). */
  clear(): void {
    this.open.length = 0;
    this.openBytes = 0;
    this.segments.length = 0;
    this.bytes = 0;
  }
}

function decide(later: LaterOutput): void {
  later.decide();
}
