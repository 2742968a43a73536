// The Redis store's transaction of one event-loop turn: ONE MULTI, opened by the turn's first write (which
// schedules the commit through the core's pending listener), joined by commit participants (cross-node copies,
// retained updates) that write into it at commit time, and executed by commit(), whose promise group commit
// waits for before the turn's acknowledgements leave.

import type { ChainableCommander, RedisClient } from './redis-client.js';
import { checkReplies } from './redis-load.js';
import type { CommitParticipant } from './redis-store-options.js';
import { type ReplicaWait, waitForReplicas } from './redis-wait.js';

export class RedisTurn {
  private multi: ChainableCommander | undefined = undefined;
  /** A write of this turn must be durable before the turn's output (holdsOutput). */
  private critical = false;
  private pendingListener: (() => void) | undefined;
  private readonly participants: CommitParticipant[] = [];
  private lastCommit: Promise<void> = Promise.resolve();
  /** Commits issued so far. */
  private issued = 0;

  constructor(
    private readonly redis: RedisClient,
    /** Told when a commit takes the turn (the store forgets what it remembered of the turn). */
    private readonly committing: () => void,
    /** WAIT for replicas after each EXEC (cluster_redis_wait_replicas); undefined: none. */
    private readonly wait: ReplicaWait | undefined = undefined,
  ) {}

  get pending(): boolean {
    if (this.multi !== undefined) return true;
    for (const p of this.participants) if (p.pending) return true;
    return false;
  }

  get holdsOutput(): boolean {
    if (this.critical) return true;
    for (const p of this.participants) if (p.holdsOutput) return true;
    return false;
  }

  onPending(listener: () => void): void {
    this.pendingListener = listener;
  }

  /** Joins `participant` to every commit; call the returned function when it has writes waiting. */
  addParticipant(participant: CommitParticipant): () => void {
    this.participants.push(participant);
    return () => {
      if (this.multi === undefined) this.open();
    };
  }

  /** The turn's MULTI, opened (and the commit scheduled) on its first write. */
  write(critical: boolean): ChainableCommander {
    if (critical) this.critical = true;
    return this.multi ?? this.open();
  }

  private open(): ChainableCommander {
    const multi = this.redis.multi();
    this.multi = multi;
    this.pendingListener?.();
    return multi;
  }

  commit(): Promise<void> | undefined {
    if (!this.pending) return undefined;
    this.issued++;
    let wrote = this.multi !== undefined;
    const multi = this.multi ?? this.redis.multi();
    this.multi = undefined;
    this.critical = false;
    this.committing();
    let outcomes: Array<(ok: boolean) => void> | undefined;
    let alone: Array<Promise<void>> | undefined;
    const down = this.redis.status !== 'ready';
    for (const p of this.participants) {
      if (!p.pending) continue;
      if (down && p.commitAlone !== undefined) {
        const wait = p.commitAlone();
        if (wait !== undefined) {
          alone ??= [];
          alone.push(wait);
        }
        continue;
      }
      wrote = true;
      const outcome = p.write(multi);
      if (typeof outcome === 'function') {
        outcomes ??= [];
        outcomes.push(outcome);
      }
    }
    let done = wrote ? multi.exec().then(checkReplies) : Promise.resolve();
    // One WAIT per turn, sent right behind the EXEC on the same connection; the participants hear the EXEC's
    // outcome (their writes are in Redis either way), the acknowledgements wait for the replicas too.
    let confirmed: Promise<void> | undefined;
    if (wrote && this.wait !== undefined) {
      confirmed = waitForReplicas(this.redis, this.wait);
      confirmed.catch(() => {});
    }
    if (outcomes !== undefined) {
      const told = outcomes;
      done = done.then(
        () => {
          for (const f of told) f(true);
        },
        (err: unknown) => {
          for (const f of told) f(false);
          throw err;
        },
      );
    }
    if (confirmed !== undefined) {
      const replicas = confirmed;
      done = done.then(() => replicas);
    }
    if (alone !== undefined) done = Promise.all([done, ...alone]).then(() => undefined);
    this.lastCommit = done.catch(() => {});
    return done;
  }

  /** Resolves once what was written so far is in Redis (the commit scheduled for this turn included). */
  async settled(): Promise<void> {
    // The commit that will carry what is pending now (later turns' writes are not waited for).
    if (this.pending) {
      const issued = this.issued;
      while (this.issued === issued) await new Promise((resolve) => setImmediate(resolve));
    }
    await this.lastCommit;
  }
}
