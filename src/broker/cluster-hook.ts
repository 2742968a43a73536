// The seams a cluster (src/cluster) plugs into. Without a cluster none is set and the publish path is the
// plain PublishPipeline; with one, the core publishes through ClusterPublishPipeline (cluster-pipeline.ts).

import type { DeliveryTarget } from './delivery-target.js';
import type { PublishOrigin } from './diagnostics.js';
import type { Message } from './message.js';
import type { SubscriptionEntry } from './subscription.js';
import type { ShareGroup } from './topic-tree.js';

export interface ClusterHook {
  /** Gives a message published here its cluster-wide id (Message.clusterEpoch / clusterSeq), before routing. */
  stamp(message: Message): void;
  /**
   * A share group with members here matches `message`: true = one of them gets it (the cluster-wide choice fell
   * on this node); false = a member on another node does (the hook sends it there) or the message came from
   * another node, which chose for it.
   */
  shareHere(group: ShareGroup, message: Message): boolean;
  /** A live node other than this one has members of `group` (route table). */
  hasRemoteMember(group: ShareGroup): boolean;
  /**
   * A message taken back from a member that left, with no other connected member here: sends it to a member of
   * the group on another live node (durable in the same commit as the removal of the local copy); false when
   * there is none.
   */
  handOn(group: ShareGroup, message: Message): boolean;
  /**
   * After local routing of a message that did not come from another node (nor $SYS / log lines, which are per
   * node): send it to the nodes with a matching subscription. Returns how many nodes and share groups it was
   * sent to (0: no subscription elsewhere matched). `publisher` (its connection) may be held while a node it
   * sends to does not keep up (src/cluster/inbox-bound.ts).
   */
  forward(message: Message, origin: PublishOrigin, publisher: DeliveryTarget | null): number;
}

/** Told of every subscription the router gains or loses (the cluster's route table counts them per filter). */
export interface RouteListener {
  added(entry: SubscriptionEntry): void;
  removed(entry: SubscriptionEntry): void;
}
