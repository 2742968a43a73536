// The delivery log (schema version 5): the QoS 1 deliveries of one turn that carry their message (its only
// reference) go into ONE `delivery_log` row, written at the commit. A row lives until its last delivery is
// acknowledged, then goes with the turn's other dead rows, by id range; until then the seqs of its finished
// deliveries are kept in `log_dead`, so that a restart resends none of them. A delivery that changes after its
// turn (a packet identifier given later) leaves the log for a `deliveries` row.

import type Database from 'better-sqlite3';
import { decodeLogRow, decodeSeqs, encodeSeqs, LogEncoder, type LogEntry } from './sqlite-log-codec.js';
import type { DeliveryRecord, StoredMessage } from './store.js';

type Statement = Database.Statement;

export interface LogStatements {
  /** `INSERT INTO delivery_log (id, data) VALUES (?, ?)` */
  insertLog: Statement;
  /** `INSERT OR REPLACE INTO log_dead (id, seqs) VALUES (?, ?)` */
  saveDead: Statement;
  /** `DELETE FROM delivery_log WHERE id BETWEEN ? AND ?` */
  logRange: Statement;
  /** `DELETE FROM log_dead WHERE id BETWEEN ? AND ?` */
  deadRange: Statement;
}

interface LogRow {
  readonly id: number;
  /** Seq and client id of each delivery written in it (to move one out; dead ones too). */
  readonly seqs: number[];
  readonly clients: string[];
  /** Deliveries of the row not finished yet. */
  live: number;
  /** Seqs of the finished ones (rows of earlier turns only). */
  dead: number[];
  /** It has a `log_dead` row. */
  deadSaved: boolean;
  /** In `touched`: its dead seqs changed this turn. */
  touched: boolean;
  /** Not written yet (a row of this turn): its deliveries as given, encoded at the commit. */
  records: DeliveryRecord[] | undefined;
}

/**
 * Deliveries per row at most: a turn with more gets more rows, so that a row's list of finished seqs (rewritten
 * as they come) stays short, and one slow session keeps few other deliveries' bytes on disk.
 */
const MAX_ROW_ENTRIES = 256;

export class DeliveryLog {
  private nextId = 1;
  /** The row of each stored delivery still in the log, by seq. */
  private readonly bySeq = new Map<number, LogRow>();
  /** This turn's rows (the last one filling), encoded at the commit (an update in the turn costs nothing). */
  private newRows: LogRow[] = [];
  private current: LogRow | undefined;
  private touchedRows: LogRow[] = [];
  private readonly encoder = new LogEncoder();

  get pending(): boolean {
    return this.newRows.length > 0 || this.touchedRows.length > 0;
  }

  add(clientId: string, d: DeliveryRecord): void {
    let row = this.current;
    if (row === undefined || row.seqs.length >= MAX_ROW_ENTRIES) {
      row = newRow(this.nextId++);
      row.records = [];
      this.current = row;
      this.newRows.push(row);
    }
    row.live++;
    this.bySeq.set(d.seq, row);
    row.seqs.push(d.seq);
    row.clients.push(clientId);
    row.records!.push(d);
  }

  /** Counts the delivery of `seq` finished; false when it is not in the log. */
  remove(seq: number): boolean {
    const row = this.bySeq.get(seq);
    if (row === undefined) return false;
    this.bySeq.delete(seq);
    row.live--;
    // A delivery of this turn's rows is simply left out.
    if (row.records !== undefined) return true;
    row.dead.push(seq);
    if (!row.touched) {
      row.touched = true;
      this.touchedRows.push(row);
    }
    return true;
  }

  /** A delivery of this turn's row changed: it is written as given now (rare: queued and sent in one turn). */
  updatePending(d: DeliveryRecord): boolean {
    const row = this.bySeq.get(d.seq);
    if (row?.records === undefined) return false;
    row.records[row.seqs.lastIndexOf(d.seq)] = d;
    return true;
  }

  /**
   * A delivery of a written row changed: it leaves the row (counted finished there) for a `deliveries` row the
   * caller writes; returns its client id, or undefined when it is not in a written row.
   */
  takeOut(seq: number): string | undefined {
    const row = this.bySeq.get(seq);
    if (row === undefined || row.records !== undefined) return undefined;
    this.remove(seq);
    return row.clients[row.seqs.lastIndexOf(seq)];
  }

  /** Writes this turn's rows, the dead seqs of the rows it touched, and deletes the rows left empty. */
  flush(st: LogStatements): void {
    if (this.newRows.length > 0) this.writeNew(st);
    const touched = this.touchedRows;
    if (touched.length === 0) return;
    let empty: number[] | undefined;
    let deadSaved = false;
    for (const r of touched) {
      if (r.live > 0) {
        st.saveDead.run(r.id, encodeSeqs(r.dead));
        continue;
      }
      empty ??= [];
      empty.push(r.id);
      if (r.deadSaved) deadSaved = true;
    }
    if (empty !== undefined) deleteRanges(empty, st, deadSaved);
    // Only once all ran: after a failed commit (rolled back) the next one writes them again.
    for (const r of touched) {
      r.touched = false;
      if (r.live > 0) r.deadSaved = true;
    }
    this.touchedRows = [];
  }

  /**
   * A failed commit: this turn's row is not written (its deliveries are lost with the turn, as any row); the
   * finished seqs of earlier rows are written with the next commit.
   */
  clear(): void {
    for (const row of this.newRows)
      for (const seq of row.seqs) if (this.bySeq.get(seq) === row) this.bySeq.delete(seq);
    this.newRows = [];
    this.current = undefined;
    this.encoder.clear();
  }

  private writeNew(st: LogStatements): void {
    const rows = this.newRows;
    for (const row of rows) {
      const { seqs, clients } = row;
      const records = row.records!;
      row.records = undefined;
      for (let i = 0; i < seqs.length; i++) {
        const seq = seqs[i]!;
        if (this.bySeq.get(seq) === row) this.encoder.add(seq, clients[i]!, records[i]!);
      }
      if (!this.encoder.empty) st.insertLog.run(row.id, this.encoder.take());
    }
    // Kept until all are written: a failure leaves them to clear().
    this.newRows = [];
    this.current = undefined;
  }

  /**
   * Start-up: the log's deliveries that are still owed (session kept, not finished, not expired), in seq order.
   * Rows left without any are deleted, the others' finished seqs saved; `messages` shares messages by id.
   */
  restore(
    db: Database.Database,
    st: LogStatements,
    sessions: ReadonlySet<string>,
    now: number,
    messages: Map<number, StoredMessage>,
  ): LogEntry[] {
    const dead = new Map<number, number[]>();
    for (const r of db.prepare('SELECT id, seqs FROM log_dead').raw().iterate() as IterableIterator<
      [number, Buffer]
    >)
      dead.set(r[0], decodeSeqs(r[1]));
    const out: LogEntry[] = [];
    for (const [id, data] of db
      .prepare('SELECT id, data FROM delivery_log ORDER BY id')
      .raw()
      .iterate() as IterableIterator<[number, Buffer]>) {
      if (id >= this.nextId) this.nextId = id + 1;
      const finished = new Set(dead.get(id));
      const row = newRow(id);
      row.dead.push(...finished);
      row.deadSaved = dead.delete(id);
      for (const e of decodeLogRow(data)) {
        row.seqs.push(e.seq);
        row.clients.push(e.clientId);
        if (finished.has(e.seq)) continue;
        const expires = e.message.expiresAt;
        if (!sessions.has(e.clientId) || (expires !== 0 && expires <= now)) {
          row.dead.push(e.seq);
          row.touched = true;
          continue;
        }
        row.live++;
        this.bySeq.set(e.seq, row);
        // Shared by id with the other references; only live entries count (a finished one's id may be reused).
        const known = messages.get(e.message.id);
        if (known === undefined) messages.set(e.message.id, e.message);
        else e.message = known;
        out.push(e);
      }
      if (row.live === 0) row.touched = true;
      if (row.touched) this.touchedRows.push(row);
    }
    // Finished seqs of a row that is gone (written by a commit that failed after them): nothing to keep.
    const orphans = [...dead.keys()];
    if (this.touchedRows.length > 0 || orphans.length > 0) {
      db.exec('BEGIN');
      try {
        for (const id of orphans) st.deadRange.run(id, id);
        this.flush(st);
        db.exec('COMMIT');
      } catch (err) {
        if (db.inTransaction) db.exec('ROLLBACK');
        throw err;
      }
    }
    return out;
  }
}

function newRow(id: number): LogRow {
  return {
    id,
    seqs: [],
    clients: [],
    live: 0,
    dead: [],
    deadSaved: false,
    touched: false,
    records: undefined,
  };
}

/** Deletes the rows of `ids` (and their dead seqs) by runs of consecutive ids. */
function deleteRanges(ids: number[], st: LogStatements, deadSaved: boolean): void {
  ids.sort((a, b) => a - b);
  for (let i = 0; i < ids.length; ) {
    let j = i + 1;
    while (j < ids.length && ids[j] === ids[j - 1]! + 1) j++;
    st.logRange.run(ids[i]!, ids[j - 1]!);
    if (deadSaved) st.deadRange.run(ids[i]!, ids[j - 1]!);
    i = j;
  }
}
