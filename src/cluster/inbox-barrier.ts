// The inbox barrier of a takeover: requests travel in the control stream (control-stream.ts), ahead of the
// inbox, so a takeover may arrive while the inbox still holds entries written before it. Those that carry a
// message for the session taken over must be handled here first (their messages join the session before it goes
// to Redis and to the new owner), else an acknowledged message forwarded before the takeover would be lost or
// come after later ones. The barrier reads the inbox entries not handled yet (up to its last entry at the time
// of the request), finds the last one with a message for the session, and waits until the reader has handled it;
// entries for other sessions (the backlog of a slow subscriber) are not waited for.

import { topicMatches } from '../auth/topic-match.js';
import type { Session } from '../broker/session.js';
import type { InRecord } from './message-codec.js';
import type { RedisClient } from './redis-connect.js';
import { idBefore } from './stream-ids.js';

/** The forwarded publishes of one inbox entry (cl-fabric's codec); empty for other kinds. */
export type EntryDecoder = (kind: string, body: Buffer) => readonly InRecord[];

/** Entries read per XRANGE while looking for a session's messages. */
const SCAN_BATCH = 512;

export class InboxBarrier {
  /** The id of the last entry the inbox reader handled completely. */
  private handled = '0-0';
  private readonly waiting: { id: string; resolve(): void }[] = [];
  /** Inbox entries read by barriers (for the tests). */
  scanned = 0;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly decode: EntryDecoder,
  ) {}

  /** The inbox reader has handled entry `id` (and every one before it). */
  passed(id: string): void {
    this.handled = id;
    const waiting = this.waiting;
    if (waiting.length === 0) return;
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i]!;
      if (idBefore(id, w.id)) continue;
      waiting.splice(i, 1);
      w.resolve();
    }
  }

  /** Resolves once every inbox entry written so far that carries a message for `session` has been handled. */
  async settle(session: Session): Promise<void> {
    const last = await this.lastEntry();
    if (last === undefined || !idBefore(this.handled, last)) return;
    let from = `(${this.handled}`;
    let needed: string | undefined;
    for (;;) {
      const batch = (await this.redis.callBuffer('XRANGE', this.key, from, last, 'COUNT', SCAN_BATCH)) as [
        Buffer,
        Buffer[],
      ][];
      for (const [id, fields] of batch) {
        this.scanned++;
        if (carriesFor(session, this.decode, fields)) needed = id.toString();
      }
      if (batch.length < SCAN_BATCH) break;
      from = `(${batch[batch.length - 1]![0].toString()}`;
    }
    if (needed === undefined || !idBefore(this.handled, needed)) return;
    const id = needed;
    await new Promise<void>((resolve) => this.waiting.push({ id, resolve }));
  }

  /** The inbox reader stops: nobody waits any more (the takeover goes on, as a node stopping hands it over). */
  release(): void {
    for (const w of this.waiting.splice(0)) w.resolve();
  }

  private async lastEntry(): Promise<string | undefined> {
    const top = (await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1)) as [string, string[]][];
    return top[0]?.[0];
  }
}

function carriesFor(session: Session, decode: EntryDecoder, fields: Buffer[]): boolean {
  let kind = '';
  let body: Buffer | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]![0];
    if (name === 0x6b /* k */) kind = fields[i + 1]!.toString();
    else if (name === 0x62 /* b */) body = fields[i + 1];
  }
  if (body === undefined) return false;
  let records: readonly InRecord[];
  try {
    records = decode(kind, body);
  } catch {
    return false;
  }
  for (const r of records) if (matches(session, r)) return true;
  return false;
}

/** Whether the session would take a copy of the record here (by subscription or share group). */
function matches(session: Session, r: InRecord): boolean {
  for (const s of session.subscriptions.values()) {
    if (s.shareGroup === undefined) {
      if (r.regular && topicMatches(s.matchFilter, r.message.topic)) return true;
    } else {
      for (const g of r.groups) if (g.name === s.shareGroup && g.filter === s.matchFilter) return true;
    }
  }
  return false;
}
