// Culex-only `auth_failure_delay`: slows password guessing. Mosquitto answers every failed login at once, so one
// connection can try thousands of passwords a second; here the refusing CONNACK of each failed login from an
// address waits base x 2^(failures - 1) ms, capped, without blocking the event loop or touching other clients.

import type { Connection } from './connection.js';

/** Addresses remembered at most; the one that failed longest ago is forgotten first. */
export const AUTH_FAILURE_ADDRESSES = 10_000;

interface Failures {
  count: number;
  last: number;
}

/** Consecutive failed logins per source address (IP without port). */
export class AuthFailureDelay {
  private readonly failures = new Map<string, Failures>();
  private readonly max: number;

  /**
   * `base` ms for the first failure (0 turns the delay off), doubling up to `max` ms. An address is forgotten
   * after a successful login or after 2 x `max` ms without a failure.
   */
  constructor(
    private readonly base: number,
    max: number,
    private readonly capacity = AUTH_FAILURE_ADDRESSES,
  ) {
    this.max = Math.max(base, max);
  }

  get enabled(): boolean {
    return this.base > 0;
  }

  /** Addresses currently remembered. */
  get size(): number {
    return this.failures.size;
  }

  /** Records a failed login and returns how many ms its refusal waits. */
  failed(address: string, now: number): number {
    let entry = this.failures.get(address);
    if (entry !== undefined && now - entry.last > 2 * this.max) entry = undefined;
    // Re-inserted so the Map's order is least recently failed first, the eviction order.
    this.failures.delete(address);
    const count = Math.min((entry?.count ?? 0) + 1, 64);
    this.failures.set(address, { count, last: now });
    if (this.failures.size > this.capacity) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    return Math.min(this.max, this.base * 2 ** (count - 1));
  }

  succeeded(address: string): void {
    if (this.failures.size > 0) this.failures.delete(address);
  }
}

/** "127.0.0.1:51064" -> "127.0.0.1", "::1:51064" -> "::1"; a Unix socket's name stays as it is. */
function sourceOf(remoteAddress: string): string {
  const colon = remoteAddress.lastIndexOf(':');
  return colon < 0 ? remoteAddress : remoteAddress.slice(0, colon);
}

/**
 * Sends a failed login's refusal now, or holds it when auth_failure_delay is on: the connection reads nothing
 * more meanwhile (later packets are dropped with it), and a client that leaves first is simply gone.
 */
export function refuseFailedLogin(conn: Connection, send: () => void): void {
  const delays = conn.broker.authFailures;
  if (!delays.enabled) {
    send();
    return;
  }
  const wait = delays.failed(sourceOf(conn.remoteAddress), conn.broker.clock.now());
  conn.state = 'authenticating';
  conn.pending = [];
  conn.stream.pause();
  const timer = conn.broker.clock.setTimeout(() => {
    if (conn.state === 'closed') return;
    send();
    // Reading again lets the client's FIN close the socket at once; what it sent meanwhile is dropped.
    conn.stream.resume();
  }, wait);
  timer.unref();
}

export function forgetFailedLogins(conn: Connection): void {
  const failures = conn.broker.authFailures;
  // Nearly always nothing is remembered: no address string to cut per connect then.
  if (failures.size > 0) failures.succeeded(sourceOf(conn.remoteAddress));
}
