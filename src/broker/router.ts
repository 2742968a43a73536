// The router: the subscription index (topic tree with its match cache), the merge of one client's overlapping
// subscriptions, and the choice of one member per share group. It returns delivery targets; it sends nothing.

import type { QoS } from '../protocol/packets.js';
import { fromBridgePeer } from './bridge-peer.js';
import type { RouteListener } from './cluster-hook.js';
import type { Message } from './message.js';
import type { Session } from './session.js';
import type { SessionRegistry } from './session-registry.js';
import type { SubscriptionEntry } from './subscription.js';
import { type ShareGroup, TopicTree } from './topic-tree.js';

/**
 * The targets of one message: each session once, with the merged options of its matching subscriptions (highest
 * QoS, Retain As Published if any has it, every Subscription Identifier) [MQTT-3.3.4-2] 5.0. Owned by the router
 * and reused by every pass (no allocation per message); valid until the next `match`.
 */
export class RoutePass {
  readonly sessions: Session[] = [];
  readonly qos: QoS[] = [];
  readonly retainAsPublished: boolean[] = [];
  readonly subscriptionIds: Array<number[] | undefined> = [];
  /** Targets in this pass, in the order their first matching subscription was found. */
  count = 0;
  /** Share groups whose filter matches: one member of each gets the message (`Router.chooseShared`). */
  groups: readonly ShareGroup[] = [];
  /** Subscriptions matched, counting those that get nothing (No Local, read denied), as Mosquitto counts them. */
  matched = 0;
}

export class Router {
  readonly tree = new TopicTree();

  /** `sessions`: for No Local across a bridge's connections to one peer broker (bridge-peer.ts). */
  constructor(private readonly sessions: SessionRegistry) {}

  private readonly pass = new RoutePass();
  /** Target index of the sessions with several subscriptions seen in this pass. */
  private readonly index = new Map<Session, number>();

  /** A cluster's route table, told of every change (cluster-hook.ts). */
  listener: RouteListener | undefined = undefined;

  add(entry: SubscriptionEntry): void {
    this.tree.add(entry);
    this.listener?.added(entry);
  }

  remove(entry: SubscriptionEntry): void {
    this.tree.remove(entry);
    this.listener?.removed(entry);
  }

  /** The delivery targets of `message`. Not re-entrant: the broker finishes a pass before it starts another. */
  match(message: Message): RoutePass {
    const pass = this.pass;
    const { entries, groups } = this.tree.match(message.topic);
    pass.count = 0;
    pass.groups = groups;
    pass.matched = entries.length + groups.length;
    if (entries.length === 0) return pass;
    const index = this.index;
    let indexed = false;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const s = e.session;
      // [MQTT-3.8.3-3] No Local: not back to the client that published it, nor (bridges) to its broker.
      if (e.noLocal && (s.clientId === message.origin || fromBridgePeer(s, message.origin, this.sessions)))
        continue;
      // A session with one subscription appears once: only those with several need the merge.
      const at = s.subscriptionCount > 1 ? index.get(s) : undefined;
      if (at === undefined) {
        const n = pass.count++;
        pass.sessions[n] = s;
        pass.qos[n] = e.qos;
        pass.retainAsPublished[n] = e.retainAsPublished;
        pass.subscriptionIds[n] = e.identifier === 0 ? undefined : [e.identifier];
        if (s.subscriptionCount > 1) {
          index.set(s, n);
          indexed = true;
        }
        continue;
      }
      if (e.qos > pass.qos[at]!) pass.qos[at] = e.qos;
      if (e.retainAsPublished) pass.retainAsPublished[at] = true;
      if (e.identifier !== 0) {
        const ids = pass.subscriptionIds[at];
        if (ids === undefined) pass.subscriptionIds[at] = [e.identifier];
        else ids.push(e.identifier);
      }
    }
    if (indexed) index.clear();
    return pass;
  }

  /**
   * The member of a share group that gets the next message: round-robin, preferring connected members;
   * `exclude` must not get it (the member it is being taken back from).
   */
  chooseShared(group: ShareGroup, exclude?: Session): SubscriptionEntry {
    const members = group.members;
    const n = members.length;
    for (let k = 0; k < n; k++) {
      const e = members[(group.next + k) % n]!;
      if (e.session.connection !== null && e.session !== exclude) {
        group.next = (group.next + k + 1) % n;
        return e;
      }
    }
    const chosen = members[group.next % n]!;
    group.next = (group.next + 1) % n;
    return chosen;
  }
}
