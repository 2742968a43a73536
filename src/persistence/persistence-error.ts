// Errors of the persistence layer, typed so that the CLI can print the file and the reason and exit 1.

export const PersistenceErrorCode = {
  /** The database cannot be opened or created (missing or read-only directory, permissions). */
  cannotOpen: 'PERSISTENCE_CANNOT_OPEN',
  /** The file is not a database, is damaged, or fails the integrity check. */
  corrupt: 'PERSISTENCE_CORRUPT',
  /** The file is a database but not one Culex wrote (unknown tables or schema version). */
  badSchema: 'PERSISTENCE_BAD_SCHEMA',
  /** A commit failed at run time (disk full, I/O error); the previous committed state is intact. */
  writeFailed: 'PERSISTENCE_WRITE_FAILED',
} as const;
export type PersistenceErrorCode = (typeof PersistenceErrorCode)[keyof typeof PersistenceErrorCode];

export class PersistenceError extends Error {
  override readonly name = 'PersistenceError';
  constructor(
    readonly code: PersistenceErrorCode,
    readonly file: string,
    readonly reason: string,
  ) {
    super(`persistence file ${file}: ${reason}`);
  }
}
