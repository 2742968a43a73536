// Output that waits behind a commit in progress. The batch of a turn whose store writes must be durable first is
// held (the stream stays corked) until that turn's commit completes (group-commit.ts). With an asynchronous store
// (the cluster's Redis) the next turns run meanwhile: their output must not join the held batch, or it would
// leave with the earlier commit, before its own writes are durable (a PUBACK or PUBREL that a crash then
// contradicts). It waits here instead, one segment per commit, and goes in order as the commits complete.

import { joinChunks } from './output-join.js';

/** What a segment needs of its connection. */
export interface SegmentSink {
  /** Joins the output to this turn's commit; true when it is held until that commit completes. */
  holdForTurn(): boolean;
  /** Writes a segment: into the held batch while there is one, else as new output. */
  writeSegment(chunk: Buffer): void;
}

export class LaterOutput {
  private open: Buffer[] = [];
  private openBytes = 0;
  /** Segments held for their own commit, oldest first. */
  private readonly segments: Buffer[] = [];
  private deciding = false;
  /** Bytes waiting here (the connection's backlog counts them). */
  bytes = 0;

  constructor(private readonly sink: SegmentSink) {}

  /** Output written while the connection's batch is held; its segment is decided at the end of the turn. */
  add(chunk: Buffer): void {
    this.open.push(chunk);
    this.openBytes += chunk.length;
    this.bytes += chunk.length;
    if (!this.deciding) {
      this.deciding = true;
      process.nextTick(decide, this);
    }
  }

  /** Segments held for their own commit. */
  get waiting(): number {
    return this.segments.length;
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
    if (this.sink.holdForTurn()) {
      this.segments.push(segment);
      this.bytes += bytes;
      return;
    }
    const n = this.segments.length;
    if (n > 0) {
      this.segments[n - 1] = Buffer.concat([this.segments[n - 1]!, segment]);
      this.bytes += bytes;
    } else this.sink.writeSegment(segment);
  }

  /** The oldest held segment becomes the connection's held batch (the one before it has gone); false: none. */
  next(): boolean {
    const segment = this.segments.shift();
    if (segment === undefined) return false;
    this.bytes -= segment.length;
    this.sink.writeSegment(segment);
    return true;
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
