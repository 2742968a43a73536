// Plugin state the nodes of a cluster share (the dynamic-security document): the cluster's copy is the Redis
// string `state:<name>`; a node that changes its state writes it there and says so on the `state` channel, and
// the other nodes replace theirs with it. At start, after a reload of the plugins and after a Redis outage the
// cluster's copy wins over the node's own (its file may be stale); when Redis has none yet, the node's becomes it.

import type { Logger } from '../broker/logger.js';
import type { NodeLink } from './node-link.js';

/** What a plugin offers (src/server/plugin-api.ts `SharedState`, restated here: src/cluster does not import it). */
export interface SharedStateSource {
  readonly name: string;
  read(): string;
  replace(document: string, note?: string): void;
  onChange(listener: ((document: string, note: string) => void) | undefined): void;
}

const SEP = '\0';

export class SharedStates {
  private wired: SharedStateSource[] = [];
  /** States changed here while Redis could not take them: written (not read back) once it can. */
  private readonly unsent = new Set<string>();
  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (channel.toString() !== this.link.keys.stateChannel) return;
    const [node, name, note] = message.toString().split(SEP);
    if (node === this.link.nodeId || name === undefined) return;
    void this.pull(name, note);
  };
  private readonly onRedisUp = (): void => {
    const unsent = [...this.unsent];
    this.unsent.clear();
    for (const s of this.wired) if (unsent.includes(s.name)) this.push(s.name, s.read(), '');
    void this.wire(unsent);
  };

  private constructor(
    private readonly link: NodeLink,
    private readonly sources: () => readonly SharedStateSource[],
    private readonly logger: Logger,
  ) {}

  /** Subscribes to the channel and wires the current plugins. */
  static async start(
    link: NodeLink,
    sources: () => readonly SharedStateSource[],
    logger: Logger,
  ): Promise<SharedStates> {
    const states = new SharedStates(link, sources, logger);
    link.subscriber.on('messageBuffer', states.onMessage);
    await link.subscriber.subscribe(link.keys.stateChannel);
    link.on('redisUp', states.onRedisUp);
    await states.wire();
    return states;
  }

  /**
   * (Re)wires the plugins that are current now (after start or a reload) and takes the cluster's copy, except
   * for the states named in `keep` (this node's change is newer).
   */
  async wire(keep: readonly string[] = []): Promise<void> {
    for (const s of this.wired) s.onChange(undefined);
    this.wired = [...this.sources()];
    for (const s of this.wired) {
      s.onChange((document, note) => this.push(s.name, document, note));
      if (keep.includes(s.name)) continue;
      try {
        const key = this.link.keys.state(s.name);
        // The first node to hold a state gives it to the cluster; later ones take the cluster's.
        const [[, set], [, held]] = ((await this.link.redis
          .multi()
          .set(key, s.read(), 'NX')
          .get(key)
          .exec()) ?? []) as [[unknown, unknown], [unknown, unknown]];
        if (set !== 'OK' && typeof held === 'string') s.replace(held);
      } catch (err) {
        this.failed(s.name, err);
      }
    }
  }

  private async pull(name: string, note: string | undefined): Promise<void> {
    try {
      const held = await this.link.redis.get(this.link.keys.state(name));
      if (held === null) return;
      for (const s of this.wired) if (s.name === name) s.replace(held, note);
    } catch (err) {
      this.failed(name, err);
    }
  }

  private push(name: string, document: string, note: string): void {
    const keys = this.link.keys;
    this.link.redis
      .multi()
      .set(keys.state(name), document)
      .publish(keys.stateChannel, `${this.link.nodeId}${SEP}${name}${SEP}${note}`)
      .exec()
      .catch((err: unknown) => {
        this.unsent.add(name);
        this.failed(name, err);
      });
  }

  private failed(name: string, err: unknown): void {
    this.logger.log(
      'warning',
      `Warning: Cluster: ${name} state not shared: ${err instanceof Error ? err.message : String(err)}`,
    );
  }

  stop(): void {
    for (const s of this.wired) s.onChange(undefined);
    this.wired = [];
    this.link.subscriber.off('messageBuffer', this.onMessage);
    this.link.off('redisUp', this.onRedisUp);
  }
}
