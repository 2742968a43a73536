// Group commit: store writes of one event-loop turn share one commit, and output that may acknowledge them
// (PUBACK, PUBREC, a QoS 1/2 PUBLISH with its stored identifier) waits until that commit is durable. A store's
// commit may be asynchronous (a store across the network): the output then waits for the promise.

import { commitChannel, traceCommit } from './diagnostics.js';
import type { Logger } from './logger.js';
import type { PersistenceStore } from './persistence-port.js';

/** What group commit holds back: a connection's batched output. */
export interface HeldOutput {
  flush(): void;
  /** The commit failed: the output must not go (the client retries once it reconnects). */
  abort(): void;
}

/**
 * Another writer whose writes join the turn's commit (the cluster's cross-node forwards and retained updates):
 * output of the turn waits for it too when it `holdsOutput`.
 */
export interface CommitParticipant {
  /** Writes are waiting for commit(). */
  readonly pending: boolean;
  /** Some of them must be durable before this turn's acknowledgements go out. */
  readonly holdsOutput: boolean;
  /** Makes them durable; a promise when asynchronous (rejected: the output it holds is aborted). */
  commit(): void | Promise<void>;
}

export class GroupCommit {
  private held: HeldOutput[] = [];
  private participants: CommitParticipant[] = [];
  /** Turns committed so far: output written in the turn a batch was held in joins that batch. */
  turns = 0;
  /** Asynchronous commits whose output is not released yet; output is released in commit order. */
  private running = 0;
  private releasing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: PersistenceStore,
    private readonly logger: Logger,
  ) {}

  /** With store writes waiting, `output` is held until the commit at the end of this turn; true when held. */
  hold(output: HeldOutput): boolean {
    if (!this.store.holdsOutput && (this.participants.length === 0 || !this.participantsHold())) return false;
    this.held.push(output);
    return true;
  }

  /**
   * Commits pending store writes now; false when the output they cover may not go now: the commit failed, or
   * it is asynchronous and still running (the caller then drops that output, and the client retries).
   */
  commitNow(): boolean {
    if (!this.store.pending && !this.participantsPending()) return true;
    // Timed only while someone listens on culex:commit (the metrics endpoint): once per commit, not per message.
    const started = commitChannel.hasSubscribers ? performance.now() : -1;
    try {
      const done = this.commitAll();
      if (done === undefined) {
        if (started >= 0) traceCommit(started, true);
        return true;
      }
      done.then(
        () => {
          if (started >= 0) traceCommit(started, true);
        },
        (err: unknown) => this.failed(err, started),
      );
      return false;
    } catch (err) {
      this.failed(err, started);
      return false;
    }
  }

  /** The group commit: make this turn's writes durable, then release the output they cover. */
  commitTurn(): void {
    this.turns++;
    const held = this.held;
    this.held = [];
    if (!this.store.pending && !this.participantsPending()) {
      this.release(held, true);
      return;
    }
    const started = commitChannel.hasSubscribers ? performance.now() : -1;
    let done: void | Promise<void>;
    try {
      done = this.commitAll();
    } catch (err) {
      this.failed(err, started);
      this.release(held, false);
      return;
    }
    if (done === undefined) {
      if (started >= 0) traceCommit(started, true);
      this.release(held, true);
      return;
    }
    // A connection's output of a later turn waits behind this one (later-output.ts): releases keep commit order.
    const before = this.running > 0 ? this.releasing : undefined;
    this.running++;
    const settle = (ok: boolean): void => {
      this.running--;
      release(held, ok);
    };
    const outcome = (ok: boolean): void | Promise<void> =>
      before === undefined ? settle(ok) : before.then(() => settle(ok));
    this.releasing = done.then(
      () => {
        if (started >= 0) traceCommit(started, true);
        return outcome(true);
      },
      (err: unknown) => {
        this.failed(err, started);
        return outcome(false);
      },
    );
  }

  /** Releases at once, or after the asynchronous commits still running. */
  private release(held: readonly HeldOutput[], ok: boolean): void {
    if (held.length === 0) return;
    if (this.running === 0) release(held, ok);
    else this.releasing = this.releasing.then(() => release(held, ok));
  }

  addParticipant(participant: CommitParticipant): void {
    this.participants = [...this.participants, participant];
  }

  removeParticipant(participant: CommitParticipant): void {
    this.participants = this.participants.filter((p) => p !== participant);
  }

  private participantsHold(): boolean {
    for (const p of this.participants) if (p.holdsOutput) return true;
    return false;
  }

  private participantsPending(): boolean {
    for (const p of this.participants) if (p.pending) return true;
    return false;
  }

  /** The store's commit and every pending participant's, as one: settled when all are. */
  private commitAll(): void | Promise<void> {
    const first = this.store.pending ? this.store.commit() : undefined;
    if (this.participants.length === 0) return first;
    const waits: Promise<void>[] = first === undefined ? [] : [first];
    for (const p of this.participants) {
      if (!p.pending) continue;
      const done = p.commit();
      if (done !== undefined) waits.push(done);
    }
    if (waits.length === 0) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  private failed(err: unknown, started: number): void {
    if (started >= 0) traceCommit(started, false);
    this.logger.log(
      'error',
      `Error: persistence write failed, acknowledgements withheld: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

function release(held: readonly HeldOutput[], ok: boolean): void {
  for (const output of held) {
    if (ok) output.flush();
    else output.abort();
  }
}
