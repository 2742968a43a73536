// Each node's control stream (`ctl:<node>`): the requests between nodes (session takeover) and their replies,
// apart from the inbox so that they never wait behind forwarded publishes (a node whose inbox holds a large
// backlog for a slow subscriber still answers a takeover at once). Read on its own connection with XREAD BLOCK,
// so it is read while the inbox reader is paced. Bounded: each XADD caps it at CONTROL_MAXLEN entries (requests
// carry a deadline and are worthless once it passed, so trimming by length loses nothing acknowledged), and the
// entries handled are trimmed after each read. What a takeover must not overtake in the inbox is waited for by
// the inbox barrier (inbox-barrier.ts).

import type { LinkRequests } from './link-requests.js';
import { type RedisClient, reconnectDelay } from './redis-connect.js';
import { nextId, readAfter } from './stream-ids.js';

/** The bound of a control stream (approximate: `MAXLEN ~`). */
export const CONTROL_MAXLEN = 1000;
const READ_COUNT = 64;
const BLOCK_MS = 5000;

export class ControlStream {
  /** Entries handled since the start (requests and replies). */
  handled = 0;
  private stopped = false;
  private reading: Promise<void> | undefined;

  constructor(
    private readonly commands: RedisClient,
    /** The connection blocked in XREAD on this node's control stream. */
    private readonly reader: RedisClient,
    private readonly key: (nodeId: string) => string,
    private readonly nodeId: string,
    private readonly requests: LinkRequests,
    /** Awaited before each entry: this node learns whether it was taken for dead first (fence.ts). */
    private readonly beforeEntry: () => Promise<unknown> | undefined,
  ) {}

  /** XADD of one entry to `to`'s control stream, capped at CONTROL_MAXLEN. */
  write(to: string, fields: (string | Buffer | number)[]): Promise<unknown> {
    return this.commands.xadd(this.key(to), 'MAXLEN', '~', CONTROL_MAXLEN, '*', ...fields);
  }

  start(): void {
    this.reading = this.loop();
  }

  private async loop(): Promise<void> {
    const key = this.key(this.nodeId);
    let last = '0-0';
    let attempt = 0;
    while (!this.stopped) {
      try {
        const reply = await readAfter(this.reader, key, last, READ_COUNT, BLOCK_MS);
        attempt = 0;
        if (reply === null) continue;
        for (const [, entries] of reply) {
          for (const [id, fields] of entries) {
            const wait = this.beforeEntry();
            if (wait !== undefined) await wait;
            last = id.toString();
            this.handled++;
            // A request's handler runs on (its reply goes when it is done); the next request is not held by it.
            const busy = this.requests.dispatch(fields);
            if (busy !== undefined) busy.catch(() => {});
          }
        }
        this.commands.xtrim(key, 'MINID', nextId(last)).catch(() => {});
      } catch {
        if (this.stopped) break;
        await new Promise((resolve) => setTimeout(resolve, reconnectDelay(attempt++)));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.reader.disconnect();
    await this.reading;
  }
}
