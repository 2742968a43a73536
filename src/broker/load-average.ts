// Mosquitto-style load figures: a counter's rate per minute, smoothed over 1, 5 and 15 minutes.

/** Time constants of the three averages, in seconds, with the topic suffix each is published under. */
export const LOAD_WINDOWS = [
  { suffix: '1min', seconds: 60 },
  { suffix: '5min', seconds: 300 },
  { suffix: '15min', seconds: 900 },
] as const;

/**
 * Exponentially damped moving averages of a counter's rate (events per minute), like Unix load averages.
 * Each sample moves the average towards the rate seen since the previous sample by a factor that depends on
 * how long that was: new = rate + e^(-dt/T) * (old - rate).
 */
export class LoadAverage {
  /** Current value of each window, in LOAD_WINDOWS order. */
  readonly values: number[] = LOAD_WINDOWS.map(() => 0);
  private lastCount: number;

  constructor(initialCount = 0) {
    this.lastCount = initialCount;
  }

  /** Feeds the counter's current total, `elapsedSeconds` after the previous sample. */
  sample(count: number, elapsedSeconds: number): void {
    const delta = count - this.lastCount;
    this.lastCount = count;
    if (elapsedSeconds <= 0) return;
    const perMinute = (delta * 60) / elapsedSeconds;
    for (let i = 0; i < LOAD_WINDOWS.length; i++) {
      const decay = Math.exp(-elapsedSeconds / LOAD_WINDOWS[i]!.seconds);
      this.values[i] = perMinute + decay * (this.values[i]! - perMinute);
    }
  }
}
