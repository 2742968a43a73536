// The rows a turn deletes, gathered and removed at its commit: a per-row DELETE costs as much as the insert it
// undoes. Deliveries acknowledged in one turn are mostly those stored in one earlier turn, whose seqs are
// consecutive: each run of consecutive seqs is one range DELETE (a b-tree walk), the rest one list.

import type Database from 'better-sqlite3';

type Statement = Database.Statement;

/** A run shorter than this goes to the list: a range statement per lone seq would cost more than the list. */
const MIN_RUN = 2;

export interface DeleteStatements {
  /** `DELETE FROM deliveries WHERE seq BETWEEN ? AND ?` */
  deliveryRange: Statement;
  /** `DELETE FROM deliveries WHERE seq IN (SELECT value FROM json_each(?))` */
  deliveryList: Statement;
  /** `DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))` */
  messageList: Statement;
}

export class DeferredDeletes {
  /** Delivery seqs to delete. Safe to defer: seqs are never reused. */
  private deliveries: number[] = [];
  /** Message ids whose last reference went this turn; their rows exist until the commit. */
  readonly messages = new Set<number>();

  get empty(): boolean {
    return this.deliveries.length === 0 && this.messages.size === 0;
  }

  delivery(seq: number): void {
    this.deliveries.push(seq);
  }

  clear(): void {
    this.deliveries = [];
    this.messages.clear();
  }

  /** Runs the deletes (inside the turn's transaction); throws what SQLite throws. */
  flush(st: DeleteStatements): void {
    const seqs = this.deliveries;
    if (seqs.length > 0) {
      this.deliveries = [];
      flushSeqs(seqs, st);
    }
    if (this.messages.size > 0) {
      const ids = [...this.messages];
      this.messages.clear();
      st.messageList.run(`[${ids.join(',')}]`);
    }
  }
}

function flushSeqs(seqs: number[], st: DeleteStatements): void {
  // Mostly in order already (acknowledgements follow sends), so the sort is cheap.
  if (!isSorted(seqs)) seqs.sort(ascending);
  let lone: number[] | undefined;
  const n = seqs.length;
  for (let i = 0; i < n; ) {
    const lo = seqs[i]!;
    let j = i + 1;
    while (j < n && seqs[j] === seqs[j - 1]! + 1) j++;
    if (j - i >= MIN_RUN) st.deliveryRange.run(lo, seqs[j - 1]!);
    else {
      lone ??= [];
      lone.push(lo);
    }
    i = j;
  }
  if (lone !== undefined) st.deliveryList.run(`[${lone.join(',')}]`);
}

function isSorted(a: readonly number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) return false;
  return true;
}

function ascending(a: number, b: number): number {
  return a - b;
}
