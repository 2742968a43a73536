// Back-pressure across nodes: a bound on each node's inbox stream that never drops an acknowledged copy. The
// forwarder keeps an estimate of each target inbox's length (its last XLEN plus the entries it wrote since);
// once that reaches `cluster_inbox_maxlen` it reads XLEN again, and while the target is over the bound the QoS 1/2
// copies for it wait here, in memory, with the acknowledgements (PUBACK / PUBREC) of their publishers: the
// publishers' in-flight windows then stop them, as a slow local subscriber stops them. QoS 0 copies for such a
// node are dropped and counted. Held copies are bounded with the outage queue's limits (cluster_queue_limit /
// cluster_queue_bytes): beyond them the oldest are dropped and their acknowledgements withheld (the clients
// resend). Streams are never trimmed by length, so nothing that was acknowledged is lost there.

import type { Logger } from '../broker/logger.js';
import { encodeRecords, type OutRecord } from './message-codec.js';
import type { NodeLink } from './node-link.js';

/** A turn's QoS 1/2 copies for one node that is over its bound. */
export interface HeldCopies {
  readonly to: string;
  readonly body: Buffer;
  readonly count: number;
  readonly bytes: number;
  /** Written (true) or dropped (false): releases or withholds the acknowledgements waiting for it. */
  done(ok: boolean): void;
}

/** How often the length of an inbox over its bound is read again. */
export const POLL_MS = 25;

class Target {
  /** Entries in its inbox, as last read plus those written since. */
  backlog = 0;
  held: HeldCopies[] = [];
  /** Held copies handed to the writer and not yet confirmed (later copies wait: order per node is kept). */
  writing = 0;
  timer: NodeJS.Timeout | undefined = undefined;
  polling = false;
  warned = false;
}

export class InboxBound {
  private readonly targets = new Map<string, Target>();
  /** Copies (messages) and payload bytes held for every target together. */
  heldCount = 0;
  heldBytes = 0;
  private closed = false;

  constructor(
    private readonly link: NodeLink,
    private readonly logger: Logger,
    /** Writes released copies (in order, through the forwarder's queue); calls `settled` with the outcome. */
    private readonly write: (copies: HeldCopies[], settled: (ok: boolean) => void) => void,
    /** Copies dropped: QoS 0 ones for a node over its bound, or (`overflow`) held ones beyond the hold's bound. */
    private readonly dropped: (count: number, overflow: boolean) => void,
  ) {}

  /** True when new copies for `to` must wait here (over its bound, or earlier copies for it still wait). */
  blocked(to: string): boolean {
    const t = this.targets.get(to);
    if (t === undefined) return false;
    return t.held.length > 0 || t.writing > 0 || t.backlog >= this.link.options.inboxMaxLen;
  }

  /** One entry for `to` goes into Redis now (the estimate grows; at the bound, the real length is read). */
  sent(to: string): void {
    let t = this.targets.get(to);
    if (t === undefined) {
      t = new Target();
      this.targets.set(to, t);
    }
    if (++t.backlog >= this.link.options.inboxMaxLen) this.poll(to, t);
  }

  /**
   * The turn's copies for `to`, which is over its bound: the QoS 1/2 ones wait here (the promise resolves once they
   * are written, rejects when the hold overflowed: their acknowledgements are withheld); QoS 0 ones are dropped.
   */
  holdTurn(to: string, records: readonly OutRecord[]): Promise<void> | undefined {
    let keep: OutRecord[] | undefined;
    let bytes = 0;
    for (const r of records)
      if (r.message.qos > 0) {
        keep ??= [];
        keep.push(r);
        bytes += r.message.payload.length;
      }
    const dropped = records.length - (keep?.length ?? 0);
    if (dropped > 0) this.dropped(dropped, false);
    if (keep === undefined) return undefined;
    const body = encodeRecords(keep);
    const count = keep.length;
    return new Promise<void>((resolve, reject) => {
      this.hold({
        to,
        body,
        count,
        bytes,
        done: (ok) =>
          ok ? resolve() : reject(new Error(`Cluster: copies for node ${to} dropped (its inbox is full)`)),
      });
    });
  }

  private hold(copies: HeldCopies): void {
    let t = this.targets.get(copies.to);
    if (t === undefined) {
      t = new Target();
      this.targets.set(copies.to, t);
    }
    t.held.push(copies);
    this.heldCount += copies.count;
    this.heldBytes += copies.bytes;
    if (!t.warned) {
      t.warned = true;
      this.logger.log(
        'warning',
        `Cluster: node ${copies.to} is not reading its inbox (${t.backlog} entries, cluster_inbox_maxlen ${this.link.options.inboxMaxLen}): acknowledgements of messages for it are held.`,
      );
    }
    const limits = this.link.options;
    while (t.held.length > 0 && (this.heldCount > limits.queueLimit || this.heldBytes > limits.queueBytes)) {
      const oldest = t.held.shift()!;
      this.heldCount -= oldest.count;
      this.heldBytes -= oldest.bytes;
      this.dropped(oldest.count, true);
      oldest.done(false);
    }
    if (t.writing === 0) this.poll(copies.to, t);
  }

  /** Reads `to`'s inbox length (once at a time); releases what waits when it is under the bound or dead. */
  private poll(to: string, t: Target): void {
    if (t.polling || t.timer !== undefined || this.closed) return;
    t.polling = true;
    this.link.redis.xlen(this.link.keys.inbox(to)).then(
      (length) => {
        t.polling = false;
        t.backlog = length;
        this.check(to, t);
      },
      () => {
        t.polling = false;
        this.retry(to, t);
      },
    );
  }

  private retry(to: string, t: Target): void {
    if (this.closed || t.timer !== undefined) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      this.poll(to, t);
    }, POLL_MS);
    t.timer.unref();
  }

  private check(to: string, t: Target): void {
    // A dead node's inbox is read by the survivor that adopts its sessions: copies go there as before.
    const free = t.backlog < this.link.options.inboxMaxLen || !this.link.isAlive(to) || this.closed;
    if (!free) {
      if (t.held.length > 0) this.retry(to, t);
      return;
    }
    if (t.held.length === 0 || t.writing > 0) return;
    if (t.warned) {
      t.warned = false;
      this.logger.log('notice', `Cluster: node ${to} reads its inbox again; held messages sent.`);
    }
    this.release(to, t);
  }

  /** Writes what waits for `to`, as much as its inbox has room for (all of it once it is dead, or at close). */
  private release(to: string, t: Target): void {
    const room = this.link.options.inboxMaxLen - t.backlog;
    const all = this.closed || room >= t.held.length || !this.link.isAlive(to);
    const copies = all ? t.held : t.held.splice(0, Math.max(1, room));
    if (all) t.held = [];
    let count = 0;
    let bytes = 0;
    for (const c of copies) {
      count += c.count;
      bytes += c.bytes;
    }
    this.heldCount -= count;
    this.heldBytes -= bytes;
    t.writing = copies.length;
    t.backlog += copies.length;
    this.write(copies, (ok) => {
      t.writing = 0;
      for (const c of copies) c.done(ok);
      // Copies that came meanwhile waited behind these: their turn now, if the inbox still has room.
      if (t.held.length === 0) return;
      if (this.closed) this.release(to, t);
      else this.poll(to, t);
    });
  }

  /** The node stops: everything held is written (its acknowledgements follow), whatever the bound. */
  close(): void {
    this.closed = true;
    for (const [to, t] of this.targets) {
      if (t.timer !== undefined) clearTimeout(t.timer);
      t.timer = undefined;
      if (t.held.length > 0 && t.writing === 0) this.release(to, t);
    }
  }
}
