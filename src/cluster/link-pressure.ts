// Back-pressure across the direct links between workers (worker-links.ts), so that a QoS 0 flood from one
// worker to a subscriber on another slows the publishers, as on one broker (src/broker/backpressure.ts), instead
// of overflowing the subscriber there:
// - receiving side: a message from a link meets a subscriber over its soft backlog: the link stops being read
//   until that subscriber drains, so the sending worker's socket fills;
// - sending side: while a link holds more than LINK_SOFT_BYTES unsent, the publishers whose messages go through
//   it are not read (TCP flow control then slows them), until it drains.
// A subscriber that drains nothing for LINK_STALL_MS is a slow consumer: the link is read again at once and that
// subscriber may not hold it during a probation, doubling with each stall (its QoS 0 messages are then dropped
// past CONGESTION_BYTES, as for a slow consumer on one broker), so one stuck client cannot stop the traffic
// between two workers for long. The window is longer than a local one (STALL_MS): a link carries many
// publishers' messages, and pausing it for a busy machine's scheduling hiccup costs less than dropping them.

import {
  CONGESTION_BYTES,
  HARD_BACKLOG,
  PROBATION_MAX_MS,
  PROBATION_MS,
  SOFT_BACKLOG,
} from '../broker/backpressure.js';
import { Connection } from '../broker/connection.js';
import type { DeliveryTarget, SourceHold } from '../broker/delivery-target.js';

/** Period of the check of held subscribers. */
const CHECK_MS = 5;
/** A held subscriber that takes no byte for this long is stalled. */
export const LINK_STALL_MS = 200;

interface Held {
  readonly target: DeliveryTarget;
  /** progressOf(target) when it last moved, and when. */
  mark: number;
  progressAt: number;
}

/** Grows while the target takes bytes (bytes handed to a connection's socket minus those still unsent). */
function progressOf(t: DeliveryTarget): number {
  return t instanceof Connection ? t.bytesQueued - t.backlog : -t.backlog;
}

/** The receiving end of one link: pauses reading it while a subscriber it feeds is backed up. */
export class InboundHold implements SourceHold {
  private held = new Map<DeliveryTarget, Held>();
  private timer: NodeJS.Timeout | undefined = undefined;
  /** Stalled subscribers: until when they may not hold the link, and how many times they stalled. */
  private readonly probation = new WeakMap<DeliveryTarget, { until: number; strikes: number }>();
  /** Times this link was paused (tests, diagnostics). */
  pauses = 0;

  constructor(
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  hold(target: DeliveryTarget, now: number): boolean {
    if ((this.probation.get(target)?.until ?? 0) > now) return target.backlog <= CONGESTION_BYTES;
    if (!this.held.has(target)) {
      this.held.set(target, { target, mark: progressOf(target), progressAt: now });
      if (this.timer === undefined) {
        this.pauses++;
        this.pause();
        this.timer = setInterval(() => this.check(), CHECK_MS);
        this.timer.unref();
      }
    }
    // The rest of the frame being routed still goes: one turn of the other worker's output at most.
    return target.backlog <= HARD_BACKLOG;
  }

  private check(): void {
    const now = Date.now();
    for (const h of this.held.values()) {
      const t = h.target;
      if (!t.online || t.backlog <= SOFT_BACKLOG / 2) this.held.delete(t);
      else if (progressOf(t) !== h.mark) {
        h.mark = progressOf(t);
        h.progressAt = now;
      } else if (now - h.progressAt >= LINK_STALL_MS) {
        const strikes = Math.min((this.probation.get(t)?.strikes ?? 0) + 1, 16);
        const until = now + Math.min(PROBATION_MS * 2 ** (strikes - 1), PROBATION_MAX_MS);
        this.probation.set(t, { until, strikes });
        this.held.delete(t);
      }
    }
    if (this.held.size === 0) this.release();
  }

  /** Reads the link again (its subscribers caught up, stalled, or the link closes). */
  release(): void {
    this.held.clear();
    if (this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.resume();
  }
}

/** The sending side: publishers not read while a link to another worker is backed up. */
export class OutboundHold {
  private paused = new Set<Connection>();

  /** Stops reading `publisher` (unless a subscriber here holds it already: backpressure.ts resumes it then). */
  hold(publisher: Connection): void {
    if (publisher.pausedBy !== null || publisher.state !== 'connected') return;
    this.paused.add(publisher);
    publisher.stream.pause();
  }

  /** The links drained: the publishers go on (those a subscriber here holds stay with it). */
  release(now: number): void {
    if (this.paused.size === 0) return;
    const list = this.paused;
    this.paused = new Set();
    for (const c of list) {
      if (c.state === 'closed' || c.pausedBy !== null || c.held !== null) continue;
      // Time spent waiting for the link is not the client's silence (keep alive).
      c.lastReceived = now;
      c.stream.resume();
    }
  }
}
