// The contract between parts that have figures to show (bridges, a cluster, an embedder) and /metrics: each
// registers a source that is asked for its metric families at scrape time, so nothing runs per message and no
// part needs to know the HTTP listener (docs/metrics.md, "Adding metrics").

export type MetricType = 'counter' | 'gauge' | 'summary' | 'histogram';
export type MetricLabels = Readonly<Record<string, string>>;

/** One line of a family: labels and value; `suffix` for a histogram's or summary's `_bucket`, `_sum`, `_count`. */
export type MetricSample = readonly [labels: MetricLabels, value: number, suffix?: string];

export interface MetricFamily {
  /** Prometheus conventions: `culex_` prefix, base unit in the name, `_total` only for counters. */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly samples: readonly MetricSample[];
}

export interface MetricsSource {
  /** Called at each scrape; must be quick (no I/O) and must not throw. */
  collect(): readonly MetricFamily[];
}

/** The sources of one broker, asked in the order they were added. */
export class MetricsRegistry {
  private readonly sources = new Set<MetricsSource>();

  /** Adds a source; the returned function removes it again (a bridge set or cluster that stops). */
  add(source: MetricsSource): () => void {
    this.sources.add(source);
    return () => {
      this.sources.delete(source);
    };
  }

  collect(): MetricFamily[] {
    const families: MetricFamily[] = [];
    for (const source of this.sources) {
      // A broken source costs its own figures, never the scrape.
      try {
        families.push(...source.collect());
      } catch {}
    }
    return families;
  }
}
