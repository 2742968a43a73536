// The publish pipeline of a cluster node: the single-node pipeline, plus forwarding to the other nodes after
// local routing and the cluster-wide choice of a share group's member. Swapped in by BrokerCore.attachCluster,
// so that a broker without a cluster runs the plain pipeline, untouched.

import type { BrokerCore } from './broker-core.js';
import type { ClusterHook } from './cluster-hook.js';
import type { PublishOrigin } from './diagnostics.js';
import type { Message } from './message.js';
import { PublishPipeline } from './publish-pipeline.js';
import type { Session } from './session.js';
import type { ShareGroup } from './topic-tree.js';

export class ClusterPublishPipeline extends PublishPipeline {
  constructor(
    core: BrokerCore,
    private readonly hook: ClusterHook,
    previous: PublishPipeline,
  ) {
    super(core, previous);
  }

  override publish(message: Message, from: Session | null, origin: PublishOrigin): number {
    // $SYS and log lines are per node; messages from other nodes were forwarded by the node that received them.
    const local = origin === 'sys' || origin === 'log' || origin === 'cluster';
    // Its cluster-wide id before it is stored or forwarded anywhere.
    if (!local) this.hook.stamp(message);
    const matched = super.publish(message, from, origin);
    if (local) return matched;
    // Subscriptions on other nodes count too: a v5 PUBACK says 0x10 only when none matched cluster-wide.
    return matched + this.hook.forward(message, origin, from?.connection ?? null);
  }

  /**
   * A member elsewhere may be the one (the hook sends it there); a message taken back from a member that left
   * goes to a connected member here, else to one on another node.
   */
  override deliverShared(group: ShareGroup, message: Message, exclude?: Session): boolean {
    if (exclude === undefined) {
      if (!this.hook.shareHere(group, message)) return false;
      return this.deliverHere(group, message, exclude);
    }
    // Taken back from a member that left: a connected member here first, else one on another node, as one
    // broker would give it to any other member (shared-redelivery.ts).
    if (super.canHandOn(group, exclude) || !this.hook.handOn(group, message)) {
      return this.deliverHere(group, message, exclude);
    }
    return true;
  }

  override canHandOn(group: ShareGroup, leaving: Session): boolean {
    return super.canHandOn(group, leaving) || this.hook.hasRemoteMember(group);
  }
}
