// Outgoing MQTT 5 topic aliases of one connection: Culex names the topics it sends most recently with small
// numbers, within the Topic Alias Maximum the client gave in its CONNECT, and then omits the topic name.

/** What the next PUBLISH to this client should carry for its topic. */
export interface AliasChoice {
  readonly alias: number;
  /** True when the client already maps this alias to the topic, so the topic name is sent empty. */
  readonly omitTopic: boolean;
}

/**
 * Least-recently-used mapping topic -> alias. A Map keeps insertion order, so moving a topic to the end on
 * each use makes the first key the least recently used; once every alias is taken that one is reassigned.
 * The mapping lives and dies with the network connection [MQTT-3.3.2-7].
 */
export class OutgoingTopicAliases {
  private readonly byTopic = new Map<string, number>();

  /** `maximum` is the client's Topic Alias Maximum; we never send an alias above it [MQTT-3.3.2-11], nor 0 [MQTT-3.3.2-8]. */
  constructor(readonly maximum: number) {}

  /** The alias the next PUBLISH on `topic` should use, without committing to it (see `commit`). */
  choose(topic: string): AliasChoice {
    const known = this.byTopic.get(topic);
    if (known !== undefined) return { alias: known, omitTopic: true };
    if (this.byTopic.size < this.maximum) return { alias: this.byTopic.size + 1, omitTopic: false };
    const oldest = this.byTopic.values().next();
    return { alias: oldest.done === true ? 1 : oldest.value, omitTopic: false };
  }

  /** Records that `choice` was really sent for `topic` (a PUBLISH dropped for its size changes nothing). */
  commit(topic: string, choice: AliasChoice): void {
    if (choice.omitTopic) {
      // Refresh its place in the LRU order.
      this.byTopic.delete(topic);
      this.byTopic.set(topic, choice.alias);
      return;
    }
    if (this.byTopic.size >= this.maximum) {
      const oldest = this.byTopic.keys().next();
      if (oldest.done !== true) this.byTopic.delete(oldest.value);
    }
    this.byTopic.set(topic, choice.alias);
  }

  get size(): number {
    return this.byTopic.size;
  }
}
