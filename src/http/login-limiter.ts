// Failed HTTP API logins rate-limited per remote address (an IPv6 one by its /64): after LOGIN_FAILURES_MAX failures within
// LOGIN_WINDOW_MS, requests with credentials from that address get 429 (Retry-After) until the window ends.
// At most LOGIN_ADDRESSES_MAX addresses are tracked: past that the least recently failed one is forgotten, so
// memory stays bounded whatever the number of addresses guessing (docs/limits.md). A success does not reset
// the count: a holder of one valid password could otherwise interleave it with guesses at another.

import { isIPv6 } from 'node:net';

export const LOGIN_FAILURES_MAX = 10;
export const LOGIN_WINDOW_MS = 60_000;
export const LOGIN_ADDRESSES_MAX = 10_000;

/**
 * What the limit counts by: an IPv4 address (also as `::ffff:a.b.c.d`), or an IPv6 address's /64 network, the
 * block one host is usually given (so a host cannot dodge the limit by changing its interface identifier).
 */
export function limitKey(address: string): string {
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  if (!isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === '' ? [] : tail.split(':');
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, '').toLowerCase())
    .join(':')}::/64`;
}

interface Attempts {
  /** Start of the window (the first failure in it). */
  since: number;
  failures: number;
}

export class LoginLimiter {
  /** In order of the last failure (an entry is moved to the end at each one): the first is the stalest. */
  private readonly byAddress = new Map<string, Attempts>();

  constructor(
    private readonly maxFailures = LOGIN_FAILURES_MAX,
    private readonly windowMs = LOGIN_WINDOW_MS,
    private readonly maxAddresses = LOGIN_ADDRESSES_MAX,
  ) {}

  get tracked(): number {
    return this.byAddress.size;
  }

  /** Seconds to wait before `address` may try again, 0 when it may now. */
  retryAfter(address: string, now: number): number {
    const key = limitKey(address);
    const a = this.byAddress.get(key);
    if (a === undefined) return 0;
    const end = a.since + this.windowMs;
    if (now >= end) {
      this.byAddress.delete(key);
      return 0;
    }
    return a.failures >= this.maxFailures ? Math.ceil((end - now) / 1000) : 0;
  }

  failed(address: string, now: number): void {
    const key = limitKey(address);
    let a = this.byAddress.get(key);
    if (a !== undefined) this.byAddress.delete(key);
    if (a === undefined || now >= a.since + this.windowMs) a = { since: now, failures: 0 };
    a.failures++;
    this.byAddress.set(key, a);
    if (this.byAddress.size > this.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value!);
  }
}
