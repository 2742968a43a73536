// Publisher back-pressure. When a subscriber's socket backs up, the connection publishing to it stops being read
// until the subscriber drains, so overload slows publishers (through TCP flow control) instead of dropping QoS 0
// messages. A subscriber that stays backed up for STALL_MS is a slow consumer: publishers are released and
// messages to it are dropped, so one stalled client never holds up the others for long.

import type { Connection } from './connection.js';

/** Unsent bytes above which a subscriber pauses the publishers feeding it. */
export const SOFT_BACKLOG = 1024 * 1024;
/** Unsent bytes above which QoS 0 messages to a subscriber are dropped whatever happens. */
export const HARD_BACKLOG = 8 * 1024 * 1024;
/** How long a backed-up subscriber may hold publishers before it is treated as stalled. */
export const STALL_MS = 2000;

/** Pauses `publisher` until `subscriber` drains (or is found stalled, or closes). */
export function throttle(publisher: Connection, subscriber: Connection, now: number): void {
  if (subscriber.backedUpSince === 0) subscriber.backedUpSince = now;
  if (publisher.pausedBy !== null) return;
  publisher.pausedBy = subscriber;
  publisher.stream.pause();
  if (subscriber.waiters === null) subscriber.waiters = [publisher];
  else subscriber.waiters.push(publisher);
}

/** Resumes every publisher paused on `subscriber`. */
export function release(subscriber: Connection): void {
  subscriber.backedUpSince = 0;
  const waiters = subscriber.waiters;
  if (waiters === null) return;
  subscriber.waiters = null;
  const now = Date.now();
  for (const w of waiters) {
    if (w.pausedBy !== subscriber) continue;
    w.pausedBy = null;
    // Time spent paused by us is not the client's silence.
    w.lastReceived = now;
    if (w.state !== 'closed') w.stream.resume();
  }
}

/** From the broker's sweep: a subscriber backed up for too long becomes a slow consumer. */
export function checkStalled(subscriber: Connection, now: number): void {
  if (subscriber.backedUpSince !== 0 && now - subscriber.backedUpSince > STALL_MS) {
    subscriber.stalled = true;
    release(subscriber);
  }
}
