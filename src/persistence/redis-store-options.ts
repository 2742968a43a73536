// What the Redis store is opened with, and the other writers that join its MULTI each turn (redis-store.ts).

import type { ChainableCommander, RedisClient } from './redis-client.js';
import type { ReplicaWait } from './redis-wait.js';

/** Another writer whose writes must be durable in the same MULTI as the store's (forwarder, retained). */
export interface CommitParticipant {
  readonly pending: boolean;
  readonly holdsOutput: boolean;
  /** Adds its pending writes to the turn's MULTI (called by commit()); the callback hears the outcome. */
  write(pipeline: ChainableCommander): ((ok: boolean) => void) | undefined;
  /**
   * While Redis is unreachable the store's MULTI waits for it; a participant with its own bounded buffer for
   * that case commits alone instead (its promise, if any, holds the output it covers).
   */
  commitAlone?(): Promise<void> | undefined;
}

export interface RedisStoreOptions {
  /** The commands connection (not one in subscriber or blocking mode). */
  redis: RedisClient;
  /** This node; sessions it saves are owned by it. */
  nodeId: string;
  /** Key prefix, default `culex:`. */
  prefix?: string;
  /** Keep retained messages in `<prefix>retained` (default true; false when another part owns that hash). */
  retained?: boolean;
  /** Quit the connection when the store closes (it opened it). */
  ownsConnection?: boolean;
  /** WAIT for replicas after each commit before its acknowledgements go (undefined: no WAIT). */
  wait?: ReplicaWait;
}
