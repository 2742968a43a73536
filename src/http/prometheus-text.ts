// Writes the Prometheus text exposition format (version 0.0.4): HELP and TYPE once per family, then samples.

import type { MetricFamily, MetricLabels, MetricType } from '../ports/metrics.js';

export type Labels = MetricLabels;

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

export class PrometheusText {
  private readonly lines: string[] = [];

  /** Starts a metric family; `samples` are [labels, value] pairs, or a single value without labels. */
  family(
    name: string,
    type: MetricType,
    help: string,
    samples: number | readonly (readonly [Labels, number])[],
  ): this {
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`);
    this.lines.push(`# TYPE ${name} ${type}`);
    if (typeof samples === 'number') this.sample(name, {}, samples);
    else for (const [labels, value] of samples) this.sample(name, labels, value);
    return this;
  }

  /** A sample line of the current family (a summary's _sum and _count, say). */
  sample(name: string, labels: Labels, value: number): this {
    const keys = Object.keys(labels);
    const set =
      keys.length === 0 ? '' : `{${keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',')}}`;
    this.lines.push(`${name}${set} ${formatValue(value)}`);
    return this;
  }

  /** Families from a MetricsSource (suffixed samples for histograms: `_bucket`, `_sum`, `_count`). */
  families(list: readonly MetricFamily[]): this {
    for (const f of list) {
      this.family(f.name, f.type, f.help, []);
      for (const [labels, value, suffix] of f.samples) this.sample(f.name + (suffix ?? ''), labels, value);
    }
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
