// `memory_limit`: a hard bound on the broker's memory, with Mosquitto's effects. Mosquitto counts every byte it
// mallocs and fails the allocation that would pass the limit: an incoming message is then dropped and its
// publisher disconnected, a new connection is closed at once. Node has no per-allocation count, so the broker's
// use is sampled (V8 heap in use plus memory outside it: Buffers) a few times a second, never per message, and
// each message admitted between two samples adds its size to the estimate.

import { getHeapStatistics } from 'node:v8';
import type { Clock, ClockTimer } from './clock.js';
import type { Connection } from './connection.js';
import type { Logger } from './logger.js';
import type { BrokerStats } from './stats.js';

/** How often the memory is measured (ms). */
export const MEMORY_SAMPLE_MS = 100;
/** Once over the limit, new connections are refused until use falls below this share of it (hysteresis). */
const MEMORY_LOW_WATER = 0.9;

/** Bytes the broker uses now: V8 heap in use plus external memory (Buffers), about 2 µs to read. */
export function heapAndExternal(): number {
  const h = getHeapStatistics();
  return h.used_heap_size + h.external_memory;
}

export class MemoryLimit {
  /** True from a sample over the limit until one below the low-water mark: new connections are refused. */
  over = false;
  /** The last sample plus what was admitted since. */
  private estimate = 0;
  private readonly timer: ClockTimer;

  constructor(
    readonly limit: number,
    private readonly measure: () => number,
    private readonly logger: Logger,
    private readonly clock: Clock,
  ) {
    this.sample();
    this.timer = clock.setInterval(sampleMemory, MEMORY_SAMPLE_MS, this);
    this.timer.unref();
  }

  /** Measures now and moves between over and under the limit, with a log line at each change. */
  sample(): void {
    const used = this.measure();
    this.estimate = used;
    if (!this.over && used > this.limit) {
      this.over = true;
      this.logger.log(
        'warning',
        `Warning: memory use ${used} bytes is over memory_limit ${this.limit}: refusing new connections and incoming messages.`,
      );
    } else if (this.over && used < this.limit * MEMORY_LOW_WATER) {
      this.over = false;
      this.logger.log('notice', `Memory use ${used} bytes is back under memory_limit ${this.limit}.`);
    }
  }

  /** Whether a message of `bytes` may be taken in; counted into the estimate when it may. */
  admit(bytes: number): boolean {
    const next = this.estimate + bytes;
    if (this.over || next > this.limit) return false;
    this.estimate = next;
    return true;
  }

  stop(): void {
    this.clock.clearTimer(this.timer);
  }
}

function sampleMemory(limit: MemoryLimit): void {
  limit.sample();
}

/** An incoming PUBLISH that would pass the limit: dropped, its publisher disconnected, in Mosquitto's words. */
export function refuseForMemory(conn: Connection, stats: BrokerStats): void {
  stats.memoryRefusedMessages++;
  conn.closeReason = 'disconnected due to out of memory';
  conn.close(false);
}
