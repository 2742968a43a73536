// Wiring of the cluster's sessions: the Redis store (on its own connection, whose commands wait through a Redis
// outage instead of failing, so that acknowledgements are held, never sent for writes that were lost), the
// claim at CONNECT and takeover between nodes, the adoption of dead nodes' sessions, clean sessions' wills.

import type { BrokerCore } from '../broker/broker-core.js';
import type { Logger } from '../broker/logger.js';
import { RedisStore } from '../persistence/redis-store.js';
import { SessionAdoption } from './adoption.js';
import type { Cluster } from './cluster.js';
import { checkClusterFormat } from './cluster-format.js';
import { ClusterKeys } from './cluster-keys.js';
import type { ClusterOptions } from './cluster-options.js';
import { fenceSessions } from './fence.js';
import { decodeRecords, type InRecord } from './message-codec.js';
import { connectRedis, describeRedis } from './redis-connect.js';
import { PUBLISH_KIND } from './redis-send-queue.js';
import { beingReaped, keepBeating, waitOutAdopters, waitOutReaper } from './rejoin.js';
import { SessionHandoff } from './session-handoff.js';
import { armCleanSessionWills } from './will-failover.js';

/**
 * The sessions' part of a cluster node. The store opens before the core (the core reads it at start-up); the
 * claim goes on the CONNECT path before the listeners open (it waits for the node link); the rest attaches
 * once the cluster (node link, routes, forwarder) runs.
 */
export class ClusterSessions {
  handoff: SessionHandoff | undefined;
  adoption: SessionAdoption | undefined;
  private linked: (handoff: SessionHandoff) => void = () => {};
  private readonly ready = new Promise<SessionHandoff>((resolve) => {
    this.linked = resolve;
  });

  /** Beats for this node until its node link does. */
  private stopBeating: () => void = () => {};

  private constructor(readonly store: RedisStore) {}

  get nodeId(): string {
    return this.store.nodeId;
  }

  /** Opens the store of node `nodeId`, with what it owns read back for the broker's start-up. */
  static async open(options: ClusterOptions, nodeId: string, logger: Logger): Promise<ClusterSessions> {
    // No retry limit: a commit issued while Redis is away waits for it (PUBACK / PUBREC held meanwhile).
    // (A MULTI in flight when the connection drops is sent again once Redis is back: if Redis had applied it,
    // its cross-node copies go twice — a rare QoS 2 duplicate, never a loss; docs/cluster-sessions-notes.md.)
    const redis = await connectRedis(options, `culex:${nodeId}:store`, { maxRetriesPerRequest: null });
    let store: RedisStore;
    let stopBeating: () => void = () => {};
    try {
      // Before anything is read: data in another format (a node of another release) would be misread.
      await checkClusterFormat(redis, new ClusterKeys(options.keyPrefix), describeRedis(options));
      // Not while a survivor adopts what this node id owned (a restart soon after a crash).
      await waitOutReaper(redis, options, nodeId);
      // Nor while its inbox still holds messages owed to sessions adopted from it: it would read and drop them.
      await waitOutAdopters(redis, options, nodeId);
      stopBeating = keepBeating(redis, options, nodeId);
      // Retained messages are the cluster's (retained-sync.ts), in the same hash: the store keeps none.
      const storeOptions = {
        redis,
        nodeId,
        prefix: options.keyPrefix,
        ownsConnection: true,
        retained: false,
        ...(options.wait === undefined ? {} : { wait: options.wait }),
      };
      store = await RedisStore.open(storeOptions);
      // A reaper that judged this node dead just before its first beat has taken its lock by now: if so, read
      // again once it is done.
      await new Promise((resolve) => setTimeout(resolve, 2 * options.heartbeatInterval));
      if (await beingReaped(redis, options, nodeId)) {
        await waitOutReaper(redis, options, nodeId);
        store = await RedisStore.open(storeOptions);
      }
    } catch (err) {
      stopBeating();
      redis.disconnect();
      throw err;
    }
    logger.log('notice', `Persistence: ${store.description}.`);
    const sessions = new ClusterSessions(store);
    sessions.stopBeating = stopBeating;
    return sessions;
  }

  /** Puts the claim on the CONNECT path of `core` (built on this store); it waits for attach(). */
  prepare(core: BrokerCore): void {
    core.sessionClaim = (clientId, cleanStart) => this.ready.then((h) => h.claim(clientId, cleanStart));
  }

  /** The cluster runs: takeover between nodes, adoption of dead nodes' sessions, clean sessions' wills. */
  attach(cluster: Cluster): void {
    const { core, link, forwarder } = cluster;
    this.stopBeating();
    const store = this.store;
    // Messages published here get cluster-wide ids under this store's epoch (unique per node start).
    forwarder.useEpoch(store.epoch);
    // The cross-node copies of a turn go in the store's MULTI: both are durable, or neither.
    core.removeCommitParticipant(forwarder);
    store.addCommitParticipant({
      get pending() {
        return forwarder.pending;
      },
      get holdsOutput() {
        return forwarder.holdsOutput;
      },
      write: (pipeline) => forwarder.writeInto(pipeline),
      // Its bounded queue (cluster_queue_limit) while Redis is away.
      commitAlone: () => forwarder.commit(),
    });
    // A takeover request unanswered within the node timeout: its node is (being) declared dead.
    const handoff = new SessionHandoff(core, store, link, Math.max(1000, link.options.nodeTimeout));
    this.handoff = handoff;
    handoff.install();
    armCleanSessionWills(core, store);
    const adoption = new SessionAdoption(
      core,
      store,
      handoff,
      (id) => link.keys.inbox(id),
      decodeInbox,
      () => cluster.routes.flush().then(() => undefined),
      (id) => link.isAlive(id),
    );
    this.adoption = adoption;
    handoff.adoptions = adoption;
    handoff.barrier = link.withBarrier(decodeInbox);
    // Before the dead node's routes are removed: the adopted sessions' routes exist first (adoption.ts).
    link.addReapTask(async (id) => {
      await adoption.adopt(id);
    }, true);
    // Taken for dead while alive: what was adopted meanwhile is no longer ours (fence.ts).
    link.fence = () => fenceSessions(core, store, handoff);
    // Handled inbox entries leave the stream in the same MULTI as the deliveries they produced.
    link.trimInbox = (key, minId) => store.addToTurn((p) => p.xtrim(key, 'MINID', minId));
    this.linked(handoff);
  }

  /** After the broker stopped: its last commit. */
  async closed(): Promise<void> {
    await this.store.closed();
  }
}

/** The forwarded publishes of one inbox entry (cl-fabric's codec). */
function decodeInbox(kind: string, body: Buffer): readonly InRecord[] {
  return kind === PUBLISH_KIND ? decodeRecords(body) : [];
}
