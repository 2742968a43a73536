// Chooses the store from the `persistence*` options: SQLite in persistence_location/persistence_file when
// persistence is on, else the in-memory no-op store.

import { join } from 'node:path';
import { MemoryStore } from './memory-store.js';
import { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { PersistenceStore } from './store.js';

export interface StoreLocation {
  enabled: boolean;
  /** Directory; '' = the current directory. Must exist (as with Mosquitto). */
  location: string;
  file: string;
}

/** The database path the options designate. */
export function databasePath(p: StoreLocation): string {
  return p.location === '' ? p.file : join(p.location, p.file);
}

/** Opens the configured store; throws PersistenceError (file + reason) when the database is unusable. */
export function openStore(p: StoreLocation, options: SqliteStoreOptions = {}): PersistenceStore {
  if (!p.enabled) return new MemoryStore();
  return new SqliteStore(databasePath(p), options);
}
