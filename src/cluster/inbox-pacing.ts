// Back-pressure on the receiving side of a node's inbox: a message from another node has no connection to pause,
// so when it fills a local subscriber's queue to near its bound (max_queued_messages / _bytes, the mark at which a
// local publisher would be paused, backpressure.ts) the inbox reader waits before its next XREAD until that
// subscriber is back under half its bound. The inbox then grows, and the senders hold their acknowledgements
// once it reaches cluster_inbox_maxlen (inbox-bound.ts). A subscriber that acknowledges nothing for
// ACK_STALL_MS is a slow consumer, as locally: the reader goes on without it for a probation period, and its
// queue overflows as it would on one broker.

import { ACK_STALL_MS, belowLowWater, nearFull, PROBATION_MS } from '../broker/backpressure.js';
import type { BrokerCore } from '../broker/broker-core.js';
import type { Session } from '../broker/session.js';

/** How often a waiting reader looks at the subscribers it waits for. */
const CHECK_MS = 10;

interface Waiting {
  /** The subscriber's acknowledgements when last seen moving, and when. */
  acks: number;
  at: number;
}

export class InboxPacing {
  private readonly waiting = new Map<Session, Waiting>();
  /** Slow consumers the reader does not wait for, until the time (ms) given. */
  private readonly probation = new WeakMap<Session, number>();
  /** True while messages from the inbox are being published (set by the forwarder). */
  receiving = false;

  constructor(private readonly core: BrokerCore) {
    core.delivery.queuedWithoutPublisher = (session) => {
      if (this.receiving) this.queued(session);
    };
  }

  private queued(session: Session): void {
    if (this.waiting.has(session) || !nearFull(session, this.core.options)) return;
    const now = this.core.now;
    const until = this.probation.get(session);
    if (until !== undefined) {
      if (until > now) return;
      this.probation.delete(session);
    }
    this.waiting.set(session, { acks: session.connection?.acks ?? 0, at: now });
  }

  /** Before the next read of the inbox: undefined to read now, or a promise resolved once it may. */
  ready(): Promise<void> | undefined {
    if (this.waiting.size === 0 || this.check()) return undefined;
    return new Promise<void>((resolve) => {
      const tick = (): void => {
        if (this.check()) resolve();
        else setTimeout(tick, CHECK_MS).unref();
      };
      setTimeout(tick, CHECK_MS).unref();
    });
  }

  /** True when no subscriber holds the reader any more. */
  private check(): boolean {
    const now = this.core.now;
    const options = this.core.options;
    for (const [session, w] of this.waiting) {
      const conn = session.connection;
      if (conn === null || belowLowWater(session, options)) {
        this.waiting.delete(session);
        continue;
      }
      if (conn.acks !== w.acks) {
        w.acks = conn.acks;
        w.at = now;
      } else if (now - w.at >= ACK_STALL_MS) {
        this.waiting.delete(session);
        this.probation.set(session, now + PROBATION_MS);
      }
    }
    return this.waiting.size === 0;
  }

  detach(): void {
    if (this.core.delivery.queuedWithoutPublisher !== undefined)
      this.core.delivery.queuedWithoutPublisher = undefined;
    this.waiting.clear();
  }
}
