// Group commit: store writes of one event-loop turn share one commit, and output that may acknowledge them
// (PUBACK, PUBREC, a QoS 1/2 PUBLISH with its stored identifier) waits until that commit is durable.

import type { PersistenceStore } from '../persistence/store.js';
import type { Logger } from './logger.js';

/** What group commit holds back: a connection's batched output. */
export interface HeldOutput {
  flush(): void;
  /** The commit failed: the output must not go (the client retries once it reconnects). */
  abort(): void;
}

export class GroupCommit {
  private held: HeldOutput[] = [];

  constructor(
    private readonly store: PersistenceStore,
    private readonly logger: Logger,
  ) {}

  /** With store writes waiting, `output` is held until the commit at the end of this turn; true when held. */
  hold(output: HeldOutput): boolean {
    if (!this.store.holdsOutput) return false;
    this.held.push(output);
    return true;
  }

  /** Commits pending store writes now; false when the commit failed (the caller must not send acks). */
  commitNow(): boolean {
    if (!this.store.pending) return true;
    try {
      this.store.commit();
      return true;
    } catch (err) {
      this.failed(err);
      return false;
    }
  }

  /** The group commit: make this turn's writes durable, then release the output they cover. */
  commitTurn(): void {
    const held = this.held;
    this.held = [];
    const ok = this.commitNow();
    for (const output of held) {
      if (ok) output.flush();
      else output.abort();
    }
  }

  private failed(err: unknown): void {
    this.logger.log(
      'error',
      `Error: persistence write failed, acknowledgements withheld: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}
