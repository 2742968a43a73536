// Messages from the other nodes, as this node's inbox reader hands them over: each is published here with origin
// 'cluster' (routed to local subscribers only, with the publisher's client id as origin, so that No Local holds
// across nodes; neither counted nor retained again) and given to the share groups the sending node chose here.
// Paced (inbox-pacing.ts): when they fill a local subscriber's queue, the rest of the entry and the next reads
// wait, so that the inbox grows instead of the queue overflowing.

import type { BrokerCore } from '../broker/broker-core.js';
import type { SourceHold } from '../broker/delivery-target.js';
import type { Logger } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import { InboxPacing } from './inbox-pacing.js';
import { decodeRecords, type GroupRef, type InRecord, RecordReader } from './message-codec.js';
import type { NodeLink } from './node-link.js';

const EMPTY = Buffer.alloc(0);

export class Inbound {
  /** The message being published from another node (its share groups were chosen there). */
  private current: Message | undefined = undefined;
  private readonly pacing: InboxPacing;
  private readonly reader = new RecordReader();

  constructor(
    private readonly core: BrokerCore,
    link: NodeLink,
    private readonly logger: Logger,
    private readonly counters: { received: number },
  ) {
    this.pacing = new InboxPacing(core);
    link.readGate = () => this.pacing.ready();
  }

  /** True while `message`, received from another node, is being published here. */
  is(message: Message): boolean {
    return message === this.current;
  }

  /** One inbox entry of forwarded publishes; a promise while its rest waits for a local queue. */
  receive(body: Buffer): Promise<undefined> | undefined {
    const records = this.decode(body);
    return records === undefined ? undefined : this.routeFrom(records, 0);
  }

  /**
   * A frame from another worker's direct link: routed at once, record by record as it is read (no array of the
   * frame's messages: they die young); a subscriber here that falls behind holds that link back instead
   * (link-pressure.ts), so the frame is not paced like an inbox entry. Records before an unreadable one (a
   * peer that proved the token writes none) are routed.
   */
  receiveLinked(body: Buffer, source: SourceHold | null): void {
    const reader = this.reader;
    reader.reset(body);
    const delivery = this.core.delivery;
    delivery.heldSource = source;
    try {
      while (this.readNext(reader)) this.route(reader.message!, reader.regular, reader.groups);
    } finally {
      delivery.heldSource = null;
      reader.reset(EMPTY);
    }
  }

  private readNext(reader: RecordReader): boolean {
    try {
      return reader.next();
    } catch (err) {
      this.unreadable(err);
      return false;
    }
  }

  private decode(body: Buffer): InRecord[] | undefined {
    try {
      return decodeRecords(body);
    } catch (err) {
      this.unreadable(err);
      return undefined;
    }
  }

  private unreadable(err: unknown): void {
    this.logger.log(
      'error',
      `Error: Cluster: unreadable forwarded messages: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  /** Routes records from `from` on; a promise when a local queue filled up and the rest must wait. */
  private routeFrom(records: readonly InRecord[], from: number): Promise<undefined> | undefined {
    this.pacing.receiving = true;
    try {
      for (let i = from; i < records.length; ) {
        const r = records[i++]!;
        this.route(r.message, r.regular, r.groups);
        if (i === records.length) break;
        const wait = this.pacing.ready();
        if (wait !== undefined) return wait.then(() => this.routeFrom(records, i));
      }
    } finally {
      this.pacing.receiving = false;
    }
    return undefined;
  }

  private route(message: Message, regular: boolean, groups: readonly GroupRef[]): void {
    const core = this.core;
    this.counters.received++;
    if (regular) {
      this.current = message;
      try {
        core.publish(message, null, 'cluster');
      } finally {
        this.current = undefined;
      }
    }
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      const group = core.tree.shareGroup(g.name, g.filter);
      // The member left meanwhile: the message has no one here (as a group that empties on one broker).
      if (group !== undefined) core.deliverSharedHere(group, message);
    }
  }

  detach(): void {
    this.pacing.detach();
  }
}
