// Samples /api/v1/systree once a second for the overview's graphs, from login on, so that the history survives
// switching panels. Rates are differences of the broker's counters over the sampling interval.

import { type Login, request } from './api.js';

/** Ten minutes of one-second samples. */
export const SAMPLES_KEPT = 600;

export type Systree = Record<string, number>;

export class Sampler {
  readonly time: number[] = [];
  readonly connected: number[] = [];
  readonly sessions: number[] = [];
  readonly received: number[] = [];
  readonly sent: number[] = [];
  readonly bytesIn: number[] = [];
  readonly bytesOut: number[] = [];
  latest: Systree | undefined;
  error: string | undefined;
  private previous: { at: number; tree: Systree } | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly login: Login) {}

  start(): void {
    const tick = async (): Promise<void> => {
      // Not while the tab is hidden: each sample is a pass over the broker's sessions.
      if (!document.hidden) await this.sample();
      if (this.timer !== undefined) this.timer = setTimeout(tick, 1000);
    };
    this.timer = setTimeout(tick, 0);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async sample(): Promise<void> {
    try {
      const answer = await request<Systree>(this.login, '/api/v1/systree');
      if (!answer.ok) {
        this.error = `systree: ${answer.status} ${answer.text.trim()}`;
      } else {
        this.error = undefined;
        this.add(answer.body);
      }
    } catch (e) {
      this.error = `systree: ${String(e)}`;
    }
    for (const l of this.listeners) l();
  }

  private add(tree: Systree): void {
    const at = Date.now() / 1000;
    const p = '$SYS/broker/';
    const get = (t: Systree, k: string): number => t[p + k] ?? 0;
    const prev = this.previous;
    const rate = (k: string): number => {
      if (prev === undefined) return 0;
      const dt = at - prev.at;
      return dt > 0 ? Math.max(0, (get(tree, k) - get(prev.tree, k)) / dt) : 0;
    };
    this.time.push(at);
    this.connected.push(get(tree, 'clients/connected'));
    this.sessions.push(get(tree, 'clients/total'));
    this.received.push(rate('messages/received'));
    this.sent.push(rate('messages/sent'));
    this.bytesIn.push(rate('bytes/received'));
    this.bytesOut.push(rate('bytes/sent'));
    for (const a of [
      this.time,
      this.connected,
      this.sessions,
      this.received,
      this.sent,
      this.bytesIn,
      this.bytesOut,
    ])
      if (a.length > SAMPLES_KEPT) a.shift();
    this.previous = { at, tree };
    this.latest = tree;
  }
}
