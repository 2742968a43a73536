// The one source of time of the broker: keepalive, connect timeout, session expiry, will delay and the
// back-pressure timers all read it, so that a test can drive them with virtual time instead of sleeping.

/** A pending timer; `unref()` lets the process exit while it waits (a no-op for virtual timers). */
export interface ClockTimer {
  unref(): unknown;
  /** Starts the timer again with its original delay. */
  refresh(): unknown;
}

export interface Clock {
  /** ms since the epoch. */
  now(): number;
  setTimeout<A extends unknown[]>(fn: (...args: A) => void, ms: number, ...args: A): ClockTimer;
  setInterval<A extends unknown[]>(fn: (...args: A) => void, ms: number, ...args: A): ClockTimer;
  clearTimer(timer: ClockTimer): void;
}

/** Wall-clock time and Node's timers. */
export const systemClock: Clock = {
  now: Date.now,
  setTimeout: (fn, ms, ...args) => setTimeout(fn, ms, ...args),
  setInterval: (fn, ms, ...args) => setInterval(fn, ms, ...args),
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};

interface VirtualTimer extends ClockTimer {
  at: number;
  every: number;
  run: () => void;
  cancelled: boolean;
}

/** Time that moves only when told to (`advance`): timers due meanwhile run in order, with `now()` at their time. */
export class VirtualClock implements Clock {
  private time: number;
  private timers: VirtualTimer[] = [];

  constructor(start = Date.now()) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout<A extends unknown[]>(fn: (...args: A) => void, ms: number, ...args: A): ClockTimer {
    return this.add(() => fn(...args), ms, 0);
  }

  setInterval<A extends unknown[]>(fn: (...args: A) => void, ms: number, ...args: A): ClockTimer {
    return this.add(() => fn(...args), ms, Math.max(1, ms));
  }

  clearTimer(timer: ClockTimer): void {
    (timer as VirtualTimer).cancelled = true;
    this.timers = this.timers.filter((t) => t !== timer);
  }

  /** Moves time forward by `ms`, running every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: VirtualTimer | undefined;
      for (const t of this.timers) if (t.at <= end && (next === undefined || t.at < next.at)) next = t;
      if (next === undefined) break;
      this.time = next.at;
      if (next.every > 0) next.at += next.every;
      else this.timers = this.timers.filter((t) => t !== next);
      next.run();
    }
    this.time = end;
  }

  private add(run: () => void, ms: number, every: number): VirtualTimer {
    const timer: VirtualTimer = {
      at: this.time + Math.max(0, ms),
      every,
      run,
      cancelled: false,
      unref: () => timer,
      refresh: () => {
        timer.at = this.time + Math.max(0, ms);
        if (!this.timers.includes(timer)) this.timers.push(timer);
        return timer;
      },
    };
    this.timers.push(timer);
    return timer;
  }
}
