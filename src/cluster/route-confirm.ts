// Confirmation of route announcements. A SUBACK for a filter new to this node waits until every other live node
// said it applied the route (as on one broker, where the subscription exists once SUBACK is sent
// [MQTT-3.8.4-1]): a route written to Redis is not yet known to a node whose pub/sub connection lags — on a Redis
// Cluster the announcement crosses the cluster bus — so a message published there at once after the SUBACK could
// miss the route. Each announcement carries a sequence number; a node that applied one answers with it on the
// announcer's `routes-ack:<node>` channel (its answers are batched per turn). A node that has not answered within
// the bound is not waited for any longer (logged): a lagging or hung node holds a SUBACK for a bounded time only.
// Nodes that never announced with a number (older versions) are not waited for.

import type { Logger } from '../broker/logger.js';

interface Waiter {
  readonly seq: number;
  readonly remaining: Set<string>;
  readonly resolve: () => void;
  timer: NodeJS.Timeout | undefined;
}

export class RouteConfirmations {
  /** The number of this node's last announcement; starts at the clock so that a restarted node counts on. */
  private seq = Date.now();
  /** Other nodes that announce with numbers (and so answer ours). */
  private readonly capable = new Set<string>();
  /** Per node: the highest of our numbers it confirmed. */
  private readonly confirmed = new Map<string, number>();
  private readonly waiters: Waiter[] = [];
  /** Answers owed: announcer -> the number of its last announcement applied here. */
  private owed = new Map<string, number>();
  private answerScheduled = false;
  /** Nodes already logged as late (once until they answer again). */
  private readonly late = new Set<string>();
  /** Confirmations that timed out (a node did not answer within the bound). */
  timedOut = 0;

  constructor(
    /** How long a SUBACK waits for the slowest node, ms. */
    private readonly boundMs: number,
    /** Publishes the answers owed to one announcer. */
    private readonly answer: (announcer: string, seq: number) => void,
    private readonly logger: Logger,
  ) {}

  /** The number for the next announcement. */
  next(): number {
    this.seq++;
    return this.seq;
  }

  /** Who must confirm an announcement made now: the live nodes among those that answer. */
  targets(alive: readonly string[]): Set<string> {
    const out = new Set<string>();
    for (const node of alive) if (this.capable.has(node)) out.add(node);
    return out;
  }

  /** Resolves once every target confirmed `seq` (or died, or the bound passed). */
  wait(seq: number, targets: Set<string>): Promise<void> | undefined {
    for (const node of targets) if ((this.confirmed.get(node) ?? 0) >= seq) targets.delete(node);
    if (targets.size === 0) return undefined;
    return new Promise<void>((resolve) => {
      const waiter: Waiter = { seq, remaining: targets, resolve, timer: undefined };
      waiter.timer = setTimeout(() => this.expire(waiter), this.boundMs);
      waiter.timer.unref();
      this.waiters.push(waiter);
    });
  }

  /** Another node's announcement, applied here: answer it (later in this turn, one answer per announcer). */
  applied(announcer: string, seq: number): void {
    this.capable.add(announcer);
    this.owed.set(announcer, seq);
    if (this.answerScheduled) return;
    this.answerScheduled = true;
    setImmediate(() => this.sendAnswers());
  }

  /** `node` confirmed our announcements up to `seq`. */
  confirm(node: string, seq: number): void {
    this.capable.add(node);
    this.late.delete(node);
    if ((this.confirmed.get(node) ?? 0) < seq) this.confirmed.set(node, seq);
    this.settle((w) => (w.seq <= seq ? node : undefined));
  }

  /** A node died or left: nobody waits for it. */
  forget(node: string): void {
    this.capable.delete(node);
    this.confirmed.delete(node);
    this.late.delete(node);
    this.settle(() => node);
  }

  /** Stops: whoever waits goes on. */
  close(): void {
    for (const w of this.waiters.splice(0)) this.finish(w);
  }

  private settle(which: (w: Waiter) => string | undefined): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      const node = which(w);
      if (node === undefined || !w.remaining.delete(node) || w.remaining.size > 0) continue;
      this.waiters.splice(i, 1);
      this.finish(w);
    }
  }

  private expire(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at < 0) return;
    this.waiters.splice(at, 1);
    this.timedOut++;
    for (const node of waiter.remaining) {
      if (this.late.has(node)) continue;
      this.late.add(node);
      this.logger.log(
        'warning',
        `Cluster: node ${node} did not confirm a route change within ${this.boundMs} ms; SUBACK sent without it (a message published there at once may miss the new subscription).`,
      );
    }
    this.finish(waiter);
  }

  private finish(waiter: Waiter): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.resolve();
  }

  private sendAnswers(): void {
    this.answerScheduled = false;
    const owed = this.owed;
    this.owed = new Map();
    for (const [announcer, seq] of owed) this.answer(announcer, seq);
  }
}
