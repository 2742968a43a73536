// Failed HTTP API logins rate-limited per remote address: after LOGIN_FAILURES_MAX failures within
// LOGIN_WINDOW_MS, requests with credentials from that address get 429 (Retry-After) until the window ends.
// At most LOGIN_ADDRESSES_MAX addresses are tracked: past that the least recently failed one is forgotten, so
// memory stays bounded whatever the number of addresses guessing (docs/limits.md). A success does not reset
// the count: a holder of one valid password could otherwise interleave it with guesses at another.

export const LOGIN_FAILURES_MAX = 10;
export const LOGIN_WINDOW_MS = 60_000;
export const LOGIN_ADDRESSES_MAX = 10_000;

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
    const a = this.byAddress.get(address);
    if (a === undefined) return 0;
    const end = a.since + this.windowMs;
    if (now >= end) {
      this.byAddress.delete(address);
      return 0;
    }
    return a.failures >= this.maxFailures ? Math.ceil((end - now) / 1000) : 0;
  }

  failed(address: string, now: number): void {
    let a = this.byAddress.get(address);
    if (a !== undefined) this.byAddress.delete(address);
    if (a === undefined || now >= a.since + this.windowMs) a = { since: now, failures: 0 };
    a.failures++;
    this.byAddress.set(address, a);
    if (this.byAddress.size > this.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value!);
  }
}
