// Exactly once for the sessions a node adopts from a dead one. While an adoption runs, a message can reach an
// adopted session more than once: directly (the adopter's own routes exist before the dead node's go), through
// the dead node's inbox (drained here), through the inbox of an earlier adopter that died too, or it may already
// be in the session's stored queue / in flight (delivered there before the first adopter died). Each message has
// a cluster-wide id (Message.clusterEpoch / clusterSeq, given where it was published): per adopted session the
// gate remembers the ids of what the session holds and was given since its adoption began, and lets a copy
// through only if its id is new. Share group copies pass the gate (a client's shared and non-shared
// subscriptions each get their copy [MQTT-4.8.2]; a member leaving hands its copies on); the drain asks
// firstForGroup instead, per group, whichever member holds it. Messages without an id (published before their
// node had one) pass.

import type { DeliveryEngine } from '../broker/delivery-engine.js';
import type { Message } from '../broker/message.js';
import type { Session } from '../broker/session.js';
import type { ShareGroup } from '../broker/topic-tree.js';

/**
 * Ids remembered per adopted session: its stored queue and in-flight messages plus what reaches it during the
 * adoption (about 2 s). Beyond that, further ids are not remembered (a copy could then arrive twice).
 */
export const ADOPTED_IDS_MAX = 262_144;

const TWO_32 = 4_294_967_296;
const TWO_21 = 2_097_152;

/** One number for an id when it fits exactly (epoch < 2^21, sequence < 2^32), else a string. */
function idKey(epoch: number, seq: number): number | string {
  return epoch < TWO_21 && seq < TWO_32 ? epoch * TWO_32 + seq : `${epoch}.${seq}`;
}

interface Watch {
  readonly ids: Set<number | string>;
  /** Adoptions in progress that watch this client id. */
  holders: number;
}

/** A group's key in `groups`: its name and filter. */
function groupKey(name: string, filter: string): string {
  return `${name}\u0000${filter}`;
}

export class AdoptionGate {
  private readonly watched = new Map<string, Watch>();
  /** While any adoption runs: per share group, the ids its members hold or were given since. */
  private readonly groups = new Map<string, Set<number | string>>();

  constructor(private readonly delivery: DeliveryEngine) {}

  /** From now on (before the session is loaded) every copy for `clientId` is checked; pairs with `unwatch`. */
  watch(clientId: string): void {
    const w = this.watched.get(clientId);
    if (w !== undefined) {
      w.holders++;
      return;
    }
    this.watched.set(clientId, { ids: new Set(), holders: 1 });
    this.delivery.gate = this.admit;
  }

  unwatch(clientId: string): void {
    const w = this.watched.get(clientId);
    if (w === undefined || --w.holders > 0) return;
    this.watched.delete(clientId);
    if (this.watched.size > 0) return;
    this.delivery.gate = undefined;
    this.groups.clear();
  }

  /** The session as loaded: what it holds already (queued, in flight) counts as given. */
  seed(session: Session): void {
    const w = this.watched.get(session.clientId);
    if (w === undefined) return;
    for (const d of session.inflight.values()) this.remember(w, d.message, d.group);
    const queue = session.queue;
    for (let i = session.queueHead; i < queue.length; i++)
      this.remember(w, queue[i]!.message, queue[i]!.group);
  }

  private remember(w: Watch, message: Message, group: ShareGroup | undefined): void {
    if (message.clusterSeq === 0) return;
    const ids = group === undefined ? w.ids : this.groupIds(group);
    if (ids.size < ADOPTED_IDS_MAX) ids.add(idKey(message.clusterEpoch, message.clusterSeq));
  }

  private groupIds(group: ShareGroup): Set<number | string> {
    const key = groupKey(group.name, group.filter);
    let ids = this.groups.get(key);
    if (ids === undefined) {
      ids = new Set();
      this.groups.set(key, ids);
    }
    return ids;
  }

  /** Ids remembered for `clientId` (tests). */
  remembered(clientId: string): number {
    return this.watched.get(clientId)?.ids.size ?? 0;
  }

  /**
   * A share group copy drained from a dead node's inbox: false when a member adopted from it already holds that
   * message for the group (the dead node delivered it, and died before the entry left its inbox). Only the drain
   * asks: a copy handed on from a member that leaves is the same message on purpose.
   */
  firstForGroup(group: ShareGroup, message: Message): boolean {
    if (message.clusterSeq === 0) return true;
    const ids = this.groupIds(group);
    const key = idKey(message.clusterEpoch, message.clusterSeq);
    if (ids.has(key)) return false;
    if (ids.size < ADOPTED_IDS_MAX) ids.add(key);
    return true;
  }

  /** The delivery engine's gate: false drops the copy. */
  private readonly admit = (session: Session, message: Message, group: ShareGroup | undefined): boolean => {
    if (group !== undefined || message.clusterSeq === 0) return true;
    const w = this.watched.get(session.clientId);
    if (w === undefined) return true;
    const key = idKey(message.clusterEpoch, message.clusterSeq);
    if (w.ids.has(key)) return false;
    if (w.ids.size < ADOPTED_IDS_MAX) w.ids.add(key);
    return true;
  };
}
