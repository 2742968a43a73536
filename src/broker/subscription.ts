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
  /**
   * Takes `same`, an equal string, as its filter (the topic tree keeps one string per distinct filter: each
   * SUBSCRIBE decodes its own copy, 32 bytes and more each). Optional: an entry without it keeps its own.
   */
  shareFilter?(same: string): void;
}

/** What few subscriptions have: a filter sent unlike the one matched (mount point, share), a Retain Handling. */
class RareOptions {
  constructor(
    /** undefined: the same as the match filter. */
    readonly filter: string | undefined,
    readonly shareGroup: string | undefined,
    public retainHandling: 0 | 1 | 2,
  ) {}
}

/**
 * The entry as the broker makes it: one class, so the per-subscriber loop in Router.match sees one shape. The
 * options that loop reads stay plain fields: packed into one integer they saved 24 bytes per subscription but
 * cost ~4% more instructions in that loop (bench/route-match.ts under callgrind). Those it does not read are
 * kept apart, and only when set (16 bytes less per subscription).
 */
export class SubscriptionRecord implements SubscriptionEntry {
  private rare: RareOptions | null;

  constructor(
    readonly session: Session,
    filter: string,
    /** Replaced only by an equal string (shareFilter). */
    public matchFilter: string,
    shareGroup: string | undefined,
    public qos: QoS,
    public noLocal: boolean,
    public retainAsPublished: boolean,
    retainHandling: 0 | 1 | 2,
    public identifier: number,
  ) {
    const own = filter === matchFilter ? undefined : filter;
    this.rare =
      own === undefined && shareGroup === undefined && retainHandling === 0
        ? null
        : new RareOptions(own, shareGroup, retainHandling);
  }

  get filter(): string {
    return this.rare?.filter ?? this.matchFilter;
  }

  get shareGroup(): string | undefined {
    return this.rare?.shareGroup;
  }

  get retainHandling(): 0 | 1 | 2 {
    return this.rare?.retainHandling ?? 0;
  }

  set retainHandling(value: 0 | 1 | 2) {
    if (this.rare !== null) this.rare.retainHandling = value;
    else if (value !== 0) this.rare = new RareOptions(undefined, undefined, value);
  }

  shareFilter(same: string): void {
    if (same === this.matchFilter) this.matchFilter = same;
  }
}
