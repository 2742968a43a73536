// `culex --check-db FILE`: opens a database read-only and reports whether it is a sound Culex database
// (SQLite integrity check plus the expected tables and columns). Never modifies the file.

import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { schemaProblems } from './schema.js';
import { logEntryCount } from './sqlite-log-codec.js';

export interface CheckResult {
  ok: boolean;
  problems: string[];
  /** Row counts per table when the file could be read. */
  counts: Record<string, number>;
}

export function checkDatabase(file: string): CheckResult {
  const result: CheckResult = { ok: false, problems: [], counts: {} };
  if (!existsSync(file)) {
    result.problems.push('no such file');
    return result;
  }
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const rows = db.pragma('integrity_check') as Array<{ integrity_check: string }>;
    for (const r of rows)
      if (r.integrity_check !== 'ok') result.problems.push(`integrity: ${r.integrity_check}`);
    if (result.problems.length === 0) {
      result.problems.push(...schemaProblems(db));
      if (result.problems.length === 0) {
        for (const t of [
          'sessions',
          'subscriptions',
          'messages',
          'deliveries',
          'retained',
          'incoming_qos2',
          'wills',
          'delivery_log',
        ]) {
          result.counts[t] = (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
        }
        // `deliveries` counts every stored delivery: its rows and the log's unfinished ones.
        result.counts.deliveries = (result.counts.deliveries ?? 0) + loggedDeliveries(db);
      }
    }
  } catch (err) {
    result.problems.push(err instanceof Error ? err.message : String(err));
  } finally {
    db?.close();
  }
  result.ok = result.problems.length === 0;
  return result;
}

/** Deliveries in `delivery_log` rows not listed as finished in `log_dead`. */
function loggedDeliveries(db: Database.Database): number {
  let n = 0;
  for (const head of db.prepare('SELECT substr(data, 1, 4) FROM delivery_log').pluck().all() as Buffer[])
    n += logEntryCount(head);
  const dead = db.prepare('SELECT coalesce(sum(length(seqs)), 0) FROM log_dead').pluck().get() as number;
  return n - dead / 8;
}

/** Runs the check for the CLI: prints a report (stdout when sound, stderr otherwise); returns the exit code. */
export function runCheckDb(
  file: string,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): number {
  const result = checkDatabase(file);
  if (!result.ok) {
    err.write(`Error: persistence file ${file} is not usable: ${result.problems.join('; ')}\n`);
    return 1;
  }
  const counts = Object.entries(result.counts)
    .map(([t, n]) => `${t} ${n}`)
    .join(', ');
  out.write(`Persistence file ${file} OK (${counts}).\n`);
  return 0;
}
