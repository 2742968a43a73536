// Redis names of what the broker numbers: its own (positive) message ids and delivery seqs are named
// `<epoch>.<n>`; what a read hands back gets negative local numbers, remembered here with the names they came
// with (and how many deliveries here still refer to each message read back).

import type { LoadedNames } from './redis-load.js';
import type { MessageRecord } from './store.js';

export class RedisNames {
  private readonly fields = new Map<number, string>();
  private readonly messages = new Map<number, { key: string; n: number }>();
  private next = -1;

  constructor(private readonly epoch: string) {}

  /** A fresh local number for something read back. */
  fresh(): number {
    return this.next--;
  }

  messageKey(m: MessageRecord): string {
    const id = m.id;
    if (id > 0) return `${this.epoch}.${id}`;
    // A message read back, or one never named (a restored retained message) before.
    return this.messages.get(id)?.key ?? `${this.epoch}.n${-id}`;
  }

  deliveryField(seq: number): string {
    return seq > 0 ? `${this.epoch}.${seq}` : (this.fields.get(seq) ?? `${this.epoch}.n${-seq}`);
  }

  /** One more delivery here refers to the message read back as `id`. */
  hold(id: number): void {
    if (id >= 0) return;
    const loaded = this.messages.get(id);
    if (loaded !== undefined) loaded.n++;
  }

  /** One delivery less; the name goes with the last. */
  drop(id: number): void {
    if (id >= 0) return;
    const loaded = this.messages.get(id);
    if (loaded !== undefined && --loaded.n <= 0) this.messages.delete(id);
  }

  forgetField(seq: number): void {
    if (seq < 0) this.fields.delete(seq);
  }

  /** Names of messages read back that no delivery kept (expired at the read). */
  prune(): void {
    for (const [id, loaded] of this.messages) if (loaded.n === 0) this.messages.delete(id);
  }

  /** The naming of one read: one local id per message key, one seq per delivery (whose client is told). */
  reader(
    onDelivery: (seq: number, clientId: string) => void,
    seenOrder: (order: number) => void,
  ): LoadedNames {
    const byKey = new Map<string, number>();
    return {
      messageId: (key) => {
        let id = byKey.get(key);
        if (id === undefined) {
          id = this.fresh();
          byKey.set(key, id);
          this.messages.set(id, { key, n: 0 });
        }
        return id;
      },
      deliverySeq: (clientId, field) => {
        const seq = this.fresh();
        this.fields.set(seq, field);
        onDelivery(seq, clientId);
        return seq;
      },
      seenOrder,
    };
  }
}
