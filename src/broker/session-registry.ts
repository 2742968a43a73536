// Where the broker finds a session by client identifier. The local registry is a Map in this process; a
// cluster keeps the same interface in front of a shared store (the session's owner node, its takeover).

import type { Session } from './session.js';

export interface SessionRegistry {
  readonly size: number;
  get(clientId: string): Session | undefined;
  has(clientId: string): boolean;
  set(clientId: string, session: Session): unknown;
  delete(clientId: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<Session>;
  [Symbol.iterator](): IterableIterator<[string, Session]>;
}

/** The sessions of this process. */
export class LocalSessionRegistry extends Map<string, Session> implements SessionRegistry {}
