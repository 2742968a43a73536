// Publisher back-pressure and the slow-consumer policy. A subscriber that falls behind (its socket holds more than
// SOFT_BACKLOG unsent bytes, or its QoS 1/2 queue nears `max_queued_messages`) stops the broker reading the
// connections publishing to it, so overload slows publishers through TCP flow control instead of losing messages.
// Only a subscriber that keeps making progress may hold publishers: while it does, a cheap timer checks every
// STALL_MS that it drained bytes or acknowledged deliveries. One that made none is a slow consumer: the publishers
// are released at once, and for a probation period (doubling with each new stall) it may not hold publishers
// again, so a client that stops and resumes cannot stall the others over and over. Its QoS 0 messages are then
// buffered while its socket is not congested (Connection.congested, 4 MiB) and dropped beyond, so a client merely
// starved of CPU for a moment loses little; its queue overflows (drops.ts).

import type { Packet } from '../protocol/packets.js';
import type { ClockTimer } from './clock.js';
import type { Connection } from './connection.js';
import { dispatchPacket } from './dispatch.js';
import type { BrokerOptions } from './options.js';
import type { Session } from './session.js';

/** A socket whose unsent bytes exceed this is congested: QoS 0 messages to it are dropped, not buffered. */
export const CONGESTION_BYTES = 4 * 1024 * 1024;
/** Unsent bytes above which a subscriber pauses the publishers feeding it. */
export const SOFT_BACKLOG = 1024 * 1024;
/** Unsent bytes above which QoS 0 messages are dropped unless their publisher now waits for the subscriber. */
export const HARD_BACKLOG = 8 * 1024 * 1024;
/** Period of the progress check; a backed-up socket that drains nothing for this long is stalled. */
export const STALL_MS = 40;
/** How long a subscriber holding publishers by its queue (socket not backed up) may go without any PUBACK / PUBCOMP. */
export const ACK_STALL_MS = 200;
/** First probation after a stall (no publisher may be held for the subscriber); doubles per stall up to the max. */
export const PROBATION_MS = 1000;
export const PROBATION_MAX_MS = 60_000;
/** Longest a publisher is held without a break, so that its PINGREQs are answered and it is never held for ever. */
export const MAX_HOLD_MS = 10_000;

/** Subscriber-side state, created the first time the subscriber holds a publisher (idle connections have none). */
export class Pressure {
  /** Publishers paused for us (an entry whose `pausedBy` is no longer us is stale and skipped). */
  waiters: Connection[] = [];
  timer: ClockTimer | null = null;
  /** progressOf() at the last check, and when it last moved. */
  mark = 0;
  progressAt = 0;
  /** Found making no progress; cleared when it drains or acknowledges again. */
  stalled = false;
  probationUntil = 0;
  strikes = 0;
  /** Times this subscriber paused a publisher (for tests and diagnostics). */
  pauses = 0;
}

/** Bytes the subscriber's socket has taken plus deliveries it has acknowledged: grows only while it reads. */
function progressOf(sub: Connection): number {
  return sub.bytesQueued - sub.stream.writableLength + sub.acks;
}

/** Whether `sub` is a known slow consumer that may not hold publishers now. */
function distrusted(sub: Connection, now: number): boolean {
  const p = sub.pressure;
  return p !== null && (p.stalled || p.probationUntil > now);
}

/**
 * A QoS 0 delivery to `sub`, whose socket has more than SOFT_BACKLOG unsent: true = write it (pausing the
 * publisher until `sub` drains), false = drop it (a known slow consumer whose socket is congested, or over
 * HARD_BACKLOG).
 */
export function admitBacklogged(
  publisher: Connection | null,
  sub: Connection,
  now: number,
  size: number,
): boolean {
  // A slow consumer keeps up to CONGESTION_BYTES unsent, or two messages of this size: a burst of large messages
  // (which Mosquitto delivers whole) is not cut by a reader that paused for a moment; memory stays bounded by
  // the packet size.
  if (distrusted(sub, now)) return sub.stream.writableLength <= Math.max(CONGESTION_BYTES, 2 * size);
  if (publisher !== null && publisher !== sub) throttle(publisher, sub, now);
  // Past the hard bound a subscriber that is making progress still gets a message whose publisher now waits for
  // it (that publisher can add only what it had already read), as Mosquitto delivers such a burst; any other
  // message (no publisher to hold: wills, $SYS; or a publisher exempt after a long hold) is dropped.
  if (sub.stream.writableLength > HARD_BACKLOG) return publisher !== null && publisher.pausedBy === sub;
  return true;
}

/** A QoS 1/2 delivery was queued for `sub`: pause the publisher when the queue is near its bound. */
export function queued(publisher: Connection, sub: Connection, session: Session, now: number): void {
  if (publisher === sub || !nearFull(session, sub.broker.options) || distrusted(sub, now)) return;
  throttle(publisher, sub, now);
}

/** 7/8 of a queue bound: the remaining eighth absorbs one message from each publisher not yet paused. */
export function nearFull(session: Session, o: BrokerOptions): boolean {
  const max = o.maxQueuedMessages;
  const maxBytes = o.maxQueuedBytes;
  return (
    (max > 0 && session.queuedCount >= max - (max >> 3)) ||
    (maxBytes > 0 && session.queuedBytes >= maxBytes - (maxBytes >> 3))
  );
}

/** Half the bound: publishers resume below it, so they are not paused and resumed for every message. */
export function belowLowWater(session: Session | null, o: BrokerOptions): boolean {
  if (session === null) return true;
  const max = o.maxQueuedMessages;
  const maxBytes = o.maxQueuedBytes;
  return (
    (max === 0 || session.queuedCount <= max >> 1) && (maxBytes === 0 || session.queuedBytes <= maxBytes >> 1)
  );
}

/** Stops reading `publisher` until `sub` catches up, is found stalled, or closes. */
function throttle(publisher: Connection, sub: Connection, now: number): void {
  if (publisher.pausedBy !== null || publisher.state !== 'connected' || publisher.exemptUntil > now) return;
  // A subscriber that (through others) waits for this publisher would wait for ever: no cycles.
  for (let c = sub.pausedBy, hops = 0; c !== null; c = c.pausedBy) {
    if (c === publisher || ++hops > 16) return;
  }
  publisher.pausedBy = sub;
  publisher.pausedAt = now;
  // What the publisher already sent in the chunk being decoded waits too (connection.ts onPacket).
  publisher.held ??= [];
  publisher.stream.pause();
  let p = sub.pressure;
  if (p === null) p = sub.pressure = new Pressure();
  p.waiters.push(publisher);
  p.pauses++;
  if (p.timer === null) {
    p.mark = progressOf(sub);
    p.progressAt = now;
    p.timer = sub.broker.clock.setTimeout(checkProgress, STALL_MS, sub);
    p.timer.unref();
  }
}

/** Runs every STALL_MS while `sub` holds publishers: keep holding while it makes progress, else release them. */
function checkProgress(sub: Connection): void {
  const p = sub.pressure!;
  if (p.waiters.length === 0 || sub.state === 'closed') {
    p.timer = null;
    return;
  }
  const now = sub.broker.clock.now();
  const mark = progressOf(sub);
  if (mark !== p.mark) {
    p.mark = mark;
    p.progressAt = now;
    // Caught up without a 'drain' (other writers keep its socket from emptying) or an acknowledgement.
    if (caughtUp(sub)) {
      release(sub);
      return;
    }
  } else if (now - p.progressAt >= (sub.stream.writableLength > SOFT_BACKLOG ? STALL_MS : ACK_STALL_MS)) {
    stall(sub, p, now);
    return;
  }
  p.timer!.refresh();
}

function stall(sub: Connection, p: Pressure, now: number): void {
  p.stalled = true;
  if (now - p.probationUntil > PROBATION_MAX_MS) p.strikes = 0;
  if (p.strikes < 16) p.strikes++;
  p.probationUntil = now + Math.min(PROBATION_MS * 2 ** (p.strikes - 1), PROBATION_MAX_MS);
  if (sub.broker.logger.enabled('debug')) {
    sub.broker.logger.log('debug', `Client ${sub.clientId} is not reading: publishers released.`);
  }
  release(sub);
}

/** Resumes every publisher paused on `sub`. */
export function release(sub: Connection): void {
  const p = sub.pressure;
  if (p === null) return;
  if (p.timer !== null) {
    sub.broker.clock.clearTimer(p.timer);
    p.timer = null;
  }
  if (p.waiters.length === 0) return;
  const waiters = p.waiters;
  p.waiters = [];
  const now = sub.broker.clock.now();
  for (const w of waiters) if (w.pausedBy === sub) unpause(w, now);
}

function unpause(w: Connection, now: number): void {
  w.pausedBy = null;
  // Time spent paused by us is not the client's silence.
  w.lastReceived = now;
  if (w.state === 'closed') {
    w.held = null;
    return;
  }
  // Still held by the cluster (a node it publishes to is over its inbox bound): resumeFromCluster reads on.
  if (w.clusterPaused) return;
  // Replayed on the next turn, not inside whatever released us (an acknowledgement, a drain).
  if (w.held !== null && w.held.length > 0) setImmediate(replayHeld, w);
  else {
    w.held = null;
    w.stream.resume();
  }
}

/** Handles the packets read before the pause, in order, until done or paused again; then reads on. */
function replayHeld(w: Connection): void {
  const held = w.held;
  if (held === null || w.pausedBy !== null) return;
  let i = 0;
  while (i < held.length && w.pausedBy === null && !w.clusterPaused && w.state !== 'closed') {
    dispatchPacket(w, held[i++] as Packet);
  }
  if (w.state === 'closed') {
    w.held = null;
    return;
  }
  if (w.pausedBy !== null || w.clusterPaused) {
    held.splice(0, i);
    return;
  }
  w.held = null;
  w.stream.resume();
}

/**
 * Cluster: stops reading `publisher`, as a slow local subscriber would, while a node its messages go to is over
 * its inbox bound (src/cluster/inbox-bound.ts); false when it was already stopped so.
 */
export function pauseForCluster(publisher: Connection): boolean {
  if (publisher.clusterPaused || publisher.state !== 'connected') return false;
  publisher.clusterPaused = true;
  // What it already sent in the chunk being decoded waits too (connection.ts onPacket).
  publisher.held ??= [];
  publisher.stream.pause();
  return true;
}

/** The node has room again: reads on, unless a local subscriber holds the publisher too. */
export function resumeFromCluster(publisher: Connection, now: number): void {
  if (!publisher.clusterPaused) return;
  publisher.clusterPaused = false;
  if (publisher.pausedBy === null) unpause(publisher, now);
}

/** Whether both the socket and the queue of `sub` are back under their low-water marks. */
function caughtUp(sub: Connection): boolean {
  return sub.stream.writableLength <= SOFT_BACKLOG / 2 && belowLowWater(sub.session, sub.broker.options);
}

/** `sub` may have caught up (drained, or acknowledged): release its publishers if it has. */
function relieve(sub: Connection): void {
  if (sub.pressure!.waiters.length > 0 && caughtUp(sub)) release(sub);
}

/** The subscriber's socket emptied (after pump() refilled it from the queue). */
export function drained(sub: Connection): void {
  if (sub.pressure === null) return;
  sub.pressure.stalled = false;
  relieve(sub);
}

/** A QoS 1/2 delivery to the session's client completed (PUBACK, PUBCOMP): progress. */
export function acknowledged(session: Session): void {
  const sub = session.connection;
  if (sub === null) return;
  sub.acks++;
  if (sub.pressure === null) return;
  sub.pressure.stalled = false;
  relieve(sub);
}

/** From the broker's sweep: a publisher held for too long is let go, and left alone for as long. */
export function checkHeld(conn: Connection, now: number): void {
  const sub = conn.pausedBy;
  if (sub === null) return;
  const limit = conn.keepAlive > 0 ? Math.min(MAX_HOLD_MS, conn.keepAlive * 500) : MAX_HOLD_MS;
  if (now - conn.pausedAt <= limit) return;
  conn.exemptUntil = now + limit;
  const waiters = sub.pressure?.waiters;
  const at = waiters === undefined ? -1 : waiters.indexOf(conn);
  if (at >= 0) waiters!.splice(at, 1);
  unpause(conn, now);
}
