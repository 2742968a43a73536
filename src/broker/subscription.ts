// One client's subscription to one topic filter, as stored in the topic tree and in the session.

import type { QoS } from '../protocol/packets.js';
import type { Session } from './session.js';

export interface SubscriptionEntry {
  readonly session: Session;
  /** The filter as the client sent it (with `$share/group/` and before the listener's mount point is added). */
  readonly filter: string;
  /** The filter matched against topics: mount point applied, `$share/group/` removed. */
  readonly matchFilter: string;
  /** Set for `$share/{group}/{filter}` subscriptions. */
  readonly shareGroup: string | undefined;
  qos: QoS;
  noLocal: boolean;
  retainAsPublished: boolean;
  retainHandling: 0 | 1 | 2;
  /** MQTT 5 Subscription Identifier; 0 = none. */
  identifier: number;
}

/**
 * The entry as the broker makes it: one class, so the per-subscriber loop in Router.match sees one shape. The
 * options stay plain fields: packed into one integer they saved 24 bytes per subscription but cost ~4% more
 * instructions in that loop (bench/route-match.ts under callgrind).
 */
export class SubscriptionRecord implements SubscriptionEntry {
  constructor(
    readonly session: Session,
    readonly filter: string,
    readonly matchFilter: string,
    readonly shareGroup: string | undefined,
    public qos: QoS,
    public noLocal: boolean,
    public retainAsPublished: boolean,
    public retainHandling: 0 | 1 | 2,
    public identifier: number,
  ) {}
}
