// Requests between nodes and their correlated replies, and the dispatch of an entry to its kind's handler.
// Entries: k = kind, f = sender, b = body, r = request id (requests and replies), d = deadline (requests),
// e = error text (failed replies), i = the entry's own id (forwarded publishes: an entry written twice by a MULTI
// sent again after a reconnection is handled once, recent-ids.ts). Requests and replies travel in the control
// stream (control-stream.ts), one-way messages in the inbox; both are dispatched here.

import { RecentIds } from './recent-ids.js';

/** What a handler gets: the body and the sending node; a request's handler returns (or resolves to) the reply. */
export type MessageHandler = (
  body: Buffer,
  from: string,
) => undefined | Buffer | string | Promise<Buffer | string | undefined>;

/** Writes one entry's fields to a node's control stream. */
export type ControlWrite = (to: string, fields: (string | Buffer | number)[]) => Promise<unknown>;

const REPLY = '_reply';

/** How this node's requests ended: a reply, an error (the handler's, or a failed write), or no reply in time. */
export interface RequestOutcomes {
  replied: number;
  failed: number;
  timedOut: number;
}
const EMPTY = Buffer.alloc(0);

export class LinkRequests {
  private readonly handlers = new Map<string, MessageHandler>();
  private readonly pending = new Map<
    string,
    { resolve(b: Buffer): void; reject(e: Error): void; timer: NodeJS.Timeout }
  >();
  private requestSeq = 0;
  /** Ids of the entries handled last (bounded). */
  private readonly handled = new RecentIds();
  /** Requests dropped because their asker had given up (counted for the tests and the logs). */
  expired = 0;
  /** This node's requests to others by outcome (/metrics: culex_cluster_requests_total). */
  readonly outcomes: RequestOutcomes = { replied: 0, failed: 0, timedOut: 0 };

  constructor(
    private readonly nodeId: string,
    private readonly writeControl: ControlWrite,
  ) {}

  on(kind: string, handler: MessageHandler): void {
    this.handlers.set(kind, handler);
  }

  /** A request to a node; resolves with its handler's reply, rejects on its error or after `timeoutMs`. */
  request(to: string, kind: string, body: Buffer | string, timeoutMs: number): Promise<Buffer> {
    const id = `${this.nodeId}/${++this.requestSeq}`;
    return new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.outcomes.timedOut++;
        reject(new Error(`Cluster: no reply from node ${to} to "${kind}" within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      const deadline = String(Date.now() + timeoutMs);
      const fields = ['k', kind, 'f', this.nodeId, 'r', id, 'd', deadline, 'b', body];
      this.writeControl(to, fields).catch((err: unknown) => this.settle(id, undefined, errorText(err)));
    });
  }

  /** Rejects every request still waiting (the node stops). */
  failAll(reason: string): void {
    for (const [id] of this.pending) this.settle(id, undefined, reason);
  }

  private settle(id: string, body: Buffer | undefined, error: string | undefined): void {
    const waiting = this.pending.get(id);
    if (waiting === undefined) return;
    this.pending.delete(id);
    clearTimeout(waiting.timer);
    if (error !== undefined) {
      this.outcomes.failed++;
      waiting.reject(new Error(error));
    } else {
      this.outcomes.replied++;
      waiting.resolve(body ?? EMPTY);
    }
  }

  /** Handles one entry; a one-way handler's promise is returned (the reader waits for it). */
  dispatch(fields: Buffer[]): Promise<unknown> | undefined {
    let kind = '';
    let from = '';
    let request: string | undefined;
    let deadline = 0;
    let error: string | undefined;
    let entry: string | undefined;
    let body: Buffer = EMPTY;
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const name = fields[i]![0];
      const value = fields[i + 1]!;
      if (name === 0x6b /* k */) kind = value.toString();
      else if (name === 0x66 /* f */) from = value.toString();
      else if (name === 0x62 /* b */) body = value;
      else if (name === 0x72 /* r */) request = value.toString();
      else if (name === 0x64 /* d */) deadline = Number(value.toString());
      else if (name === 0x65 /* e */) error = value.toString();
      else if (name === 0x69 /* i */) entry = value.toString();
    }
    if (entry !== undefined && this.handled.repeat(entry)) return undefined;
    if (kind === REPLY) {
      if (request !== undefined) this.settle(request, body, error);
      return undefined;
    }
    // A request whose asker gave up (this node was down meanwhile) is not acted on late.
    if (deadline !== 0 && Date.now() > deadline) {
      this.expired++;
      return undefined;
    }
    const handler = this.handlers.get(kind);
    if (handler === undefined) {
      if (request !== undefined)
        this.reply(from, request, undefined, `no handler for "${kind}" on ${this.nodeId}`);
      return undefined;
    }
    let result: ReturnType<MessageHandler>;
    try {
      result = handler(body, from);
    } catch (err) {
      if (request !== undefined) this.reply(from, request, undefined, errorText(err));
      return undefined;
    }
    if (request === undefined) return result instanceof Promise ? result : undefined;
    const id = request;
    Promise.resolve(result).then(
      (value) => this.reply(from, id, value ?? undefined, undefined),
      (err: unknown) => this.reply(from, id, undefined, errorText(err)),
    );
    return undefined;
  }

  private reply(to: string, id: string, body: Buffer | string | undefined, error: string | undefined): void {
    const args: (string | Buffer | number)[] = ['k', REPLY, 'f', this.nodeId, 'r', id, 'b', body ?? EMPTY];
    if (error !== undefined) args.push('e', error);
    this.writeControl(to, args).catch(() => {});
  }
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
