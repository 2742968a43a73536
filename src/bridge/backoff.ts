// When a bridge tries again: Mosquitto's constant restart_timeout, or "Decorrelated Jitter" between base and cap
// (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/), never a tight loop.

import type { RestartTimeout } from './bridge-config.js';

export class RestartDelay {
  private last: number;

  constructor(
    private readonly timeout: RestartTimeout,
    private readonly random: () => number = Math.random,
  ) {
    this.last = timeout.kind === 'constant' ? timeout.seconds : timeout.base;
  }

  /** Milliseconds to wait before the next attempt. */
  next(): number {
    const t = this.timeout;
    if (t.kind === 'constant') return t.seconds * 1000;
    // sleep = min(cap, random_between(base, sleep * 3))
    const upper = Math.max(t.base, this.last * 3);
    this.last = Math.min(t.cap, t.base + this.random() * (upper - t.base));
    return Math.round(this.last * 1000);
  }

  /** A link that came up starts again from the base. */
  reset(): void {
    const t = this.timeout;
    this.last = t.kind === 'constant' ? t.seconds : t.base;
  }
}
