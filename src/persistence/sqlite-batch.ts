// Rows of one shape inserted at the commit, many per statement: each statement run costs more than a row in it
// (better-sqlite3 builds a result object per run, SQLite resets the statement), and a turn stores one delivery
// per persistent subscriber of every message it routed.

import type Database from 'better-sqlite3';

type Statement = Database.Statement;

/** Rows per statement, largest first: a batch of n < 128 rows takes at most one statement of each size. */
const SIZES = [64, 32, 16, 8, 4, 2, 1] as const;
/** A turn that queued more values than this gives its array back instead of keeping it for the next turns. */
const KEEP_VALUES = 1 << 16;

export class InsertBatch {
  /**
   * The pending rows' values, row after row, in the table's column order, written by index up to `used`: the
   * array keeps its size from turn to turn (emptying it would free its store, and each turn would grow it again).
   */
  values: unknown[] = [];
  used = 0;
  private readonly statements = new Map<number, Statement>();

  constructor(
    private readonly db: Database.Database,
    /** `INSERT INTO t (a, b, …) VALUES`, without the row lists. */
    private readonly head: string,
    private readonly columns: number,
  ) {}

  get pending(): boolean {
    return this.used > 0;
  }

  /** Makes room for one more row; returns where its first value goes in `values`. */
  row(): number {
    const at = this.used;
    this.used = at + this.columns;
    return at;
  }

  /** Inserts the pending rows (inside the turn's transaction); throws what SQLite throws. */
  flush(): void {
    const values = this.values;
    const width = this.columns;
    let rows = this.used / width;
    let at = 0;
    try {
      for (const size of SIZES) {
        while (rows >= size) {
          const whole = at === 0 && rows === size && values.length === this.used;
          const chunk = whole ? values : values.slice(at, at + size * width);
          // Spread, not an array argument: better-sqlite3 reads arguments directly, an array element by element.
          this.statement(size).run(...chunk);
          at += size * width;
          rows -= size;
        }
      }
    } finally {
      this.clear();
    }
  }

  clear(): void {
    // Stale values would keep payloads alive: overwritten, not dropped.
    if (this.values.length > KEEP_VALUES) this.values = [];
    else this.values.fill(null, 0, this.used);
    this.used = 0;
  }

  private statement(rows: number): Statement {
    let st = this.statements.get(rows);
    if (st === undefined) {
      const row = `(${new Array<string>(this.columns).fill('?').join(', ')})`;
      st = this.db.prepare(`${this.head} ${new Array<string>(rows).fill(row).join(', ')}`);
      this.statements.set(rows, st);
    }
    return st;
  }
}
