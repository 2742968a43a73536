// Wiring of the cluster's sessions: the Redis store (on its own connection, whose commands wait through a Redis
// outage instead of failing, so that acknowledgements are held, never sent for writes that were lost), the
// claim at CONNECT and takeover between nodes, the adoption of dead nodes' sessions, clean sessions' wills.

import type { BrokerCore } from '../broker/broker-core.js';
import type { Logger } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import { RedisStore } from '../persistence/redis-store.js';
import { SessionAdoption } from './adoption.js';
import type { ClusterOptions } from './cluster-options.js';
import type { NodeLink } from './node-link.js';
import { connectRedis } from './redis-connect.js';
import { SessionHandoff } from './session-handoff.js';
import { armCleanSessionWills } from './will-failover.js';

/** Opens the store of node `link.nodeId`, with what it owns read back for the broker's start-up. */
export async function openClusterStore(
  options: ClusterOptions,
  link: NodeLink,
  logger: Logger,
): Promise<RedisStore> {
  // No retry limit: a commit issued while Redis is away waits for it (PUBACK / PUBREC held meanwhile).
  const redis = await connectRedis(options, `culex:${link.nodeId}:store`, { maxRetriesPerRequest: null });
  const store = await RedisStore.open({
    redis,
    nodeId: link.nodeId,
    prefix: options.keyPrefix,
    ownsConnection: true,
  });
  logger.log('notice', `Persistence: ${store.description}.`);
  return store;
}

export interface ClusterSessions {
  readonly handoff: SessionHandoff;
  readonly adoption: SessionAdoption;
}

/**
 * Puts the sessions' cluster behaviour on a core built on `store`. `decode` turns a forwarded-publish entry of
 * an inbox into its message (cl-fabric's codec), for the messages a dead node left unread.
 */
export function attachClusterSessions(
  core: BrokerCore,
  store: RedisStore,
  link: NodeLink,
  decode: (kind: string, body: Buffer) => Message | undefined,
): ClusterSessions {
  const handoff = new SessionHandoff(core, store, link);
  handoff.install();
  armCleanSessionWills(core, store);
  const adoption = new SessionAdoption(core, store, handoff, (id) => link.keys.inbox(id), decode);
  link.addReapTask(async (id) => {
    await adoption.adopt(id);
  });
  // Handled inbox entries leave the stream in the same MULTI as the deliveries they produced.
  link.trimInbox = (key, minId) => store.addToTurn((p) => p.xtrim(key, 'MINID', minId));
  return { handoff, adoption };
}

/** A node's cluster parts that exist before its core: the node link and the store. */
export interface ClusterNodeStart {
  readonly link: NodeLink;
  readonly store: RedisStore;
  /** Puts the sessions' cluster behaviour on the core built on `store`. */
  attach(core: BrokerCore): void;
  /** After the broker stopped: the store's last commit, then the link (leaves the membership). */
  stop(): Promise<void>;
}

/**
 * Starts the node link and opens the store (stand-in wiring until cl-fabric's cluster.ts starts the whole
 * cluster node: it then calls openClusterStore / attachClusterSessions itself).
 */
export async function startClusterSessions(
  options: ClusterOptions,
  nodeId: string,
  logger: Logger,
): Promise<ClusterNodeStart> {
  const { NodeLink } = await import('./node-link.js');
  const link = await NodeLink.start({ options, nodeId, logger });
  let store: RedisStore;
  try {
    store = await openClusterStore(options, link, logger);
  } catch (err) {
    await link.stop();
    throw err;
  }
  return {
    link,
    store,
    attach: (core) => {
      attachClusterSessions(core, store, link, () => undefined);
    },
    stop: async () => {
      await store.closed();
      await link.stop();
    },
  };
}
