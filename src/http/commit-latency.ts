// culex_persistence_commit_seconds: a histogram of group-commit durations, fed by the core's `culex:commit`
// diagnostics channel (one event per commit, published only while this listens), read at scrape time.

import diagnosticsChannel from 'node:diagnostics_channel';
import { CHANNEL, type CommitEvent } from '../broker/diagnostics.js';
import type { MetricFamily, MetricSample } from '../ports/metrics.js';

/** Upper bounds in seconds: a local SQLite commit is well under a millisecond, a remote store some ms. */
export const COMMIT_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
] as const;

export class CommitLatency {
  /** counts[i]: commits within COMMIT_BUCKETS[i] and above the bucket before (cumulated when read). */
  private readonly counts = new Array<number>(COMMIT_BUCKETS.length + 1).fill(0);
  private sum = 0;
  private failures = 0;
  private readonly listener = (message: unknown): void => {
    const { seconds, ok } = message as CommitEvent;
    let i = 0;
    while (i < COMMIT_BUCKETS.length && seconds > COMMIT_BUCKETS[i]!) i++;
    this.counts[i]!++;
    this.sum += seconds;
    if (!ok) this.failures++;
  };

  start(): void {
    diagnosticsChannel.subscribe(CHANNEL.commit, this.listener);
  }

  stop(): void {
    diagnosticsChannel.unsubscribe(CHANNEL.commit, this.listener);
  }

  families(): MetricFamily[] {
    const samples: MetricSample[] = [];
    let cumulated = 0;
    COMMIT_BUCKETS.forEach((le, i) => {
      cumulated += this.counts[i]!;
      samples.push([{ le: String(le) }, cumulated, '_bucket']);
    });
    cumulated += this.counts[COMMIT_BUCKETS.length]!;
    samples.push([{ le: '+Inf' }, cumulated, '_bucket'], [{}, this.sum, '_sum'], [{}, cumulated, '_count']);
    return [
      {
        name: 'culex_persistence_commit_seconds',
        type: 'histogram',
        help: 'Duration of persistence commits (one per event-loop turn with store writes).',
        samples,
      },
      {
        name: 'culex_persistence_commit_failures_total',
        type: 'counter',
        help: 'Persistence commits that failed (their acknowledgements withheld).',
        samples: [[{}, this.failures]],
      },
    ];
  }
}
