// Back-pressure across nodes: a bound on each node's inbox stream that never drops an acknowledged copy. The
// forwarder keeps an estimate of each target inbox's length (its last XLEN plus the entries it wrote since);
// once that reaches `cluster_inbox_maxlen` it reads XLEN again, and while the target is over the bound:
// - a connection publishing a QoS 1/2 message for that node is no longer read, as a slow local subscriber stops
//   its publishers (backpressure.ts): its copy is written (durable, so its PUBACK / PUBREC goes), but what the
//   client sends next waits in its socket, so the inbox passes the bound by at most one message per publisher;
// - QoS 0 copies for that node are dropped and counted.
// Every POLL_MS the length is read again; under the bound (or once the node is dead: its inbox is then read by
// the survivor that adopts its sessions) the publishers are read again. Streams are never trimmed by length.

import { pauseForCluster, resumeFromCluster } from '../broker/backpressure.js';
import type { BrokerCore } from '../broker/broker-core.js';
import { Connection } from '../broker/connection.js';
import type { DeliveryTarget } from '../broker/delivery-target.js';
import type { Logger } from '../broker/logger.js';
import type { NodeLink } from './node-link.js';

/** How often the length of an inbox over its bound is read again. */
export const POLL_MS = 25;

class Target {
  /** Entries in its inbox, as last read plus those written since. */
  backlog = 0;
  /** Publishers not read because of this node. */
  paused: Connection[] = [];
  timer: NodeJS.Timeout | undefined = undefined;
  polling = false;
  warned = false;
}

export class InboxBound {
  private readonly targets = new Map<string, Target>();
  /** Targets at their bound (a cheap test on the per-message path). */
  private full = 0;
  private closed = false;

  constructor(
    private readonly core: BrokerCore,
    private readonly link: NodeLink,
    private readonly logger: Logger,
  ) {}

  /** True when `to` is at its bound (its length is being read again). */
  blocked(to: string): boolean {
    if (this.full === 0) return false;
    const t = this.targets.get(to);
    if (t === undefined || t.backlog < this.link.options.inboxMaxLen) return false;
    this.poll(to, t);
    return true;
  }

  /** One entry for `to` goes into Redis now (the estimate grows; at the bound, the real length is read). */
  sent(to: string): void {
    let t = this.targets.get(to);
    if (t === undefined) {
      t = new Target();
      this.targets.set(to, t);
    }
    if (++t.backlog === this.link.options.inboxMaxLen) this.full++;
    if (t.backlog >= this.link.options.inboxMaxLen) this.poll(to, t);
  }

  /** A QoS 1/2 message of `publisher` goes to `to`, which is at its bound: stop reading the publisher. */
  pause(to: string, publisher: DeliveryTarget | null): void {
    if (!(publisher instanceof Connection) || this.closed) return;
    const t = this.targets.get(to);
    if (t === undefined || !pauseForCluster(publisher)) return;
    t.paused.push(publisher);
    if (!t.warned) {
      t.warned = true;
      this.logger.log(
        'warning',
        `Cluster: node ${to} is not reading its inbox (${t.backlog} entries, cluster_inbox_maxlen ${this.link.options.inboxMaxLen}): publishers to it are held.`,
      );
    }
  }

  /** Reads `to`'s inbox length (once at a time); resumes its publishers when it is under the bound or dead. */
  private poll(to: string, t: Target): void {
    if (t.polling || t.timer !== undefined || this.closed) return;
    t.polling = true;
    this.link.redis.xlen(this.link.keys.inbox(to)).then(
      (length: number) => {
        t.polling = false;
        this.update(to, t, length);
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

  private update(to: string, t: Target, length: number): void {
    const bound = this.link.options.inboxMaxLen;
    const wasFull = t.backlog >= bound;
    // A dead node's inbox is read by the survivor that adopts its sessions: copies go there as before.
    t.backlog = this.link.isAlive(to) ? length : 0;
    const isFull = t.backlog >= bound;
    if (wasFull !== isFull) this.full += isFull ? 1 : -1;
    if (isFull) {
      if (t.paused.length > 0) this.retry(to, t);
      return;
    }
    if (t.warned) {
      t.warned = false;
      this.logger.log('notice', `Cluster: node ${to} reads its inbox again; publishers to it resume.`);
    }
    this.resume(t);
  }

  private resume(t: Target): void {
    if (t.paused.length === 0) return;
    const paused = t.paused;
    t.paused = [];
    const now = this.core.now;
    for (const c of paused) resumeFromCluster(c, now);
  }

  /** The node stops: every publisher held is read again. */
  close(): void {
    this.closed = true;
    for (const t of this.targets.values()) {
      if (t.timer !== undefined) clearTimeout(t.timer);
      t.timer = undefined;
      this.resume(t);
    }
  }
}
