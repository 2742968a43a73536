// The one way a message enters the broker, whatever its source (a client's PUBLISH, a will, $SYS, the log
// topic, a plugin; later a bridge or a cluster peer), as stages with hook points:
//   authorize   — before this entry, by the source: the client handler asks hooks.authorize('write', topic,
//                 message) with QoS, retain and payload; a will is checked by publishWill; $SYS needs none.
//   on-publish  — interceptors (addInterceptor) may consume the message: it is then neither retained nor routed.
//                 `$CONTROL/...` from clients goes to hooks.control in the PUBLISH handler, before this entry.
//   retain      — the retained store and the persistence port.
//   route       — the router's targets, each through mayRead (the read ACL), then the delivery engine.
//   delivered   — the 'message' event and `culex:publish`; per-target sends appear on `culex:deliver`.
// Re-entrant: a message published while another is routed (a log line) waits and is routed right after it.

import type { QoS } from '../protocol/packets.js';
import type { BrokerCore } from './broker-core.js';
import { mayRead } from './delivery-acl.js';
import { type PublishEvent, type PublishOrigin, publishChannel } from './diagnostics.js';
import type { ClientInfo } from './hooks.js';
import type { Message } from './message.js';
import type { Session } from './session.js';
import type { ShareGroup } from './topic-tree.js';

/** Messages published during one routing pass (log lines) that wait for it; more are not published. */
const MAX_DEFERRED = 1000;

/** An on-publish hook: true = consumed (not retained, not routed). Synchronous: it runs on the publish path. */
export type PublishInterceptor = (
  message: Message,
  client: ClientInfo | null,
  origin: PublishOrigin,
) => boolean;

export class PublishPipeline {
  protected interceptors: PublishInterceptor[] = [];
  /** Set while route() runs; messages published meanwhile wait in `deferred` (bounded by MAX_DEFERRED). */
  private routing = false;
  private deferred: Message[] = [];

  /** `previous`: the pipeline this one replaces (cluster mode on or off); its interceptors carry over. */
  constructor(
    protected readonly core: BrokerCore,
    previous?: PublishPipeline,
  ) {
    if (previous !== undefined) this.interceptors = previous.interceptors;
  }

  addInterceptor(interceptor: PublishInterceptor): void {
    this.interceptors = [...this.interceptors, interceptor];
  }

  removeInterceptor(interceptor: PublishInterceptor): void {
    this.interceptors = this.interceptors.filter((i) => i !== interceptor);
  }

  /**
   * Accepts a message: interceptors, retained store, then every matching session. Returns how many subscriptions
   * matched, counting those that get nothing (No Local, read denied), as Mosquitto counts them.
   * $SYS and log-topic messages are not counted as received nor persisted, as in Mosquitto; nor are messages
   * from another node of a cluster (origin 'cluster'), which are not forwarded again either.
   */
  publish(message: Message, from: Session | null, origin: PublishOrigin): number {
    const core = this.core;
    const client = from?.connection ?? null;
    const interceptors = this.interceptors;
    for (let i = 0; i < interceptors.length; i++) if (interceptors[i]!(message, client, origin)) return 0;
    // A message from another node was counted, persisted and forwarded by the node that received it (the
    // cluster's retained store ignores it too: retained changes reach every node on their own channel).
    const internal = origin === 'sys' || origin === 'log' || origin === 'cluster';
    if (!internal) core.stats.messagesReceived++;
    // [MQTT-3.3.1-5] store (or with an empty payload delete [MQTT-3.3.1-6]) the retained message of the topic.
    if (message.retain) {
      if (!internal && core.store.durable) {
        const previous = core.retained.get(message.topic);
        core.journal.setRetained(message.topic, message.payload.length === 0 ? undefined : message, previous);
      }
      core.retained.set(message);
    }
    const delivery = core.delivery;
    delivery.publisher = client;
    const matched = this.route(message);
    delivery.publisher = null;
    if (origin !== 'log' && core.listenerCount('message') > 0) core.emit('message', message, client);
    if (publishChannel.hasSubscribers) {
      const event: PublishEvent = { message, client, origin, matched };
      publishChannel.publish(event);
    }
    return matched;
  }

  /** Delivers one message to every session with a matching subscription, once per session (re-entrant). */
  route(message: Message): number {
    if (this.routing) {
      if (this.deferred.length < MAX_DEFERRED) this.deferred.push(message);
      return 0;
    }
    const count = this.routeGuarded(message);
    // Iterative, with a budget: a nested message that itself logs while routed cannot recurse or loop for ever.
    let budget = MAX_DEFERRED;
    while (this.deferred.length > 0) {
      const batch = this.deferred;
      this.deferred = [];
      for (let i = 0; i < batch.length && budget > 0; i++, budget--) this.routeGuarded(batch[i]!);
      if (budget === 0) this.deferred.length = 0;
    }
    return count;
  }

  private routeGuarded(message: Message): number {
    this.routing = true;
    try {
      return this.routeOne(message);
    } finally {
      this.routing = false;
    }
  }

  private routeOne(message: Message): number {
    const pass = this.core.router.match(message);
    for (let i = 0; i < pass.count; i++) {
      const s = pass.sessions[i]!;
      this.forward(s, message, pass.qos[i]!, pass.retainAsPublished[i]!, pass.subscriptionIds[i]);
    }
    const groups = pass.groups;
    for (let i = 0; i < groups.length; i++) this.deliverShared(groups[i]!, message);
    return pass.matched;
  }

  /** The per-target stage: the read ACL, the QoS granted, RETAIN as forwarded, then the delivery engine. */
  private forward(
    s: Session,
    message: Message,
    subQos: QoS,
    rap: boolean,
    subIds: number[] | undefined,
    group?: ShareGroup,
  ): boolean {
    if (!mayRead(s, message.topic)) return false;
    const qos = this.core.options.upgradeOutgoingQos ? subQos : message.qos < subQos ? message.qos : subQos;
    // [MQTT-3.3.1-12] RETAIN is cleared on normal forwarding unless Retain As Published [MQTT-3.3.1-13].
    this.core.delivery.deliver(s, message, qos, rap && message.retain, subIds, group);
    return true;
  }

  /**
   * One member of a share group gets the message; `exclude` must not (the one it is being taken back from). A
   * cluster's pipeline overrides it: the member may be on another node.
   */
  deliverShared(group: ShareGroup, message: Message, exclude?: Session): boolean {
    return this.deliverHere(group, message, exclude);
  }

  /**
   * Whether a message taken back from `leaving` (it lost its connection) has another member to go to: one that
   * is connected here (a cluster's pipeline adds the members on other nodes).
   */
  canHandOn(group: ShareGroup, leaving: Session): boolean {
    for (const e of group.members) if (e.session !== leaving && e.session.connection !== null) return true;
    return false;
  }

  /** One member of a share group on this node gets the message. */
  deliverHere(group: ShareGroup, message: Message, exclude?: Session): boolean {
    const chosen = this.core.router.chooseShared(group, exclude);
    const subIds = chosen.identifier === 0 ? undefined : [chosen.identifier];
    return this.forward(chosen.session, message, chosen.qos, chosen.retainAsPublished, subIds, group);
  }
}
