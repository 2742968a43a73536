// Plugin state the nodes of a cluster share (the dynamic-security document): the cluster's copy is the Redis
// string `state:<name>` with a version beside it; a node that changes its state writes it there if the version is
// still the one its change was made on (compare-and-set), and says so on the `state` channel, and the other nodes
// replace theirs with it. A write that lost the race to another node's is not dropped: the plugin re-applies its
// changes to the newer copy (rebase) and the node writes again, so changes made at the same moment through two
// nodes are all kept. At start, after a reload of the plugins and after a Redis outage the cluster's copy wins over
// the node's own (its file may be stale); when Redis has none yet, the node's becomes it.

import type { Logger } from '../broker/logger.js';
import type { NodeLink } from './node-link.js';

/** What a plugin offers (src/server/plugin-api.ts `SharedState`, restated here: src/cluster does not import it). */
export interface SharedStateSource {
  readonly name: string;
  read(): string;
  replace(document: string, note?: string): void;
  onChange(listener: ((document: string, note: string) => void) | undefined): void;
  rebase?(document: string): string;
  settle?(document: string): void;
}

const SEP = '\0';

/**
 * Writes the document if the version is still ARGV[1], raises the version and announces it; otherwise returns the
 * newer copy. KEYS: state, version; ARGV: expected version, document, channel, message head, notes.
 */
const WRITE = `
local v = redis.call('GET', KEYS[2]) or '0'
if v ~= ARGV[1] then return {0, v, redis.call('GET', KEYS[1]) or ''} end
redis.call('SET', KEYS[1], ARGV[2])
local n = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[3], ARGV[4] .. n .. ARGV[5])
return {1, tostring(n)}`;

/** Changes of one state waiting for Redis: at most this many notes are kept (a long outage). */
const MAX_NOTES = 1000;

export class SharedStates {
  private wired: SharedStateSource[] = [];
  /** States changed here while Redis could not take them: written (not read back) once it can. */
  private readonly unsent = new Set<string>();
  /** The version of the cluster's copy each state here was last made equal to (or built on). */
  private readonly versions = new Map<string, number>();
  /** States with a write in flight, and those changed again meanwhile (written once it completes). */
  private readonly writing = new Set<string>();
  private readonly again = new Set<string>();
  /** Notes of changes not written yet (dynamic security: whom the other nodes disconnect). */
  private readonly notes = new Map<string, string[]>();
  private readonly onMessage = (channel: Buffer, message: Buffer): void => {
    if (channel.toString() !== this.link.keys.stateChannel) return;
    const [node, name, version, ...notes] = message.toString().split(SEP);
    if (node === this.link.nodeId || name === undefined) return;
    void this.pull(name, Number(version), notes);
  };
  private readonly onRedisUp = (): void => {
    const unsent = [...this.unsent];
    this.unsent.clear();
    for (const name of unsent) this.push(name);
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
      s.onChange((_document, note) => this.changed(s.name, note));
      if (keep.includes(s.name)) continue;
      try {
        const keys = this.link.keys;
        const key = keys.state(s.name);
        // The first node to hold a state gives it to the cluster; later ones take the cluster's.
        const [[, set], [, held], [, version]] = ((await this.link.redis
          .multi()
          .set(key, s.read(), 'NX')
          .get(key)
          .get(keys.stateVersion(s.name))
          .exec()) ?? []) as [[unknown, unknown], [unknown, unknown], [unknown, unknown]];
        this.versions.set(s.name, Number(version ?? 0));
        if (set !== 'OK' && typeof held === 'string') s.replace(held);
      } catch (err) {
        this.failed(s.name, err);
      }
    }
  }

  private source(name: string): SharedStateSource | undefined {
    return this.wired.find((s) => s.name === name);
  }

  /** Another node wrote version `version`: take it, unless this node's own write (built on it or not) is due. */
  private async pull(name: string, version: number, notes: readonly string[]): Promise<void> {
    const s = this.source(name);
    if (s === undefined) return;
    const known = this.versions.get(name) ?? 0;
    // This node's write in flight (or owed since an outage) will find the newer copy and re-apply to it; the
    // note (whom to disconnect) applies now all the same.
    if (version <= known || this.writing.has(name) || this.unsent.has(name)) {
      for (const note of notes) s.replace(s.read(), note);
      return;
    }
    try {
      const keys = this.link.keys;
      const [[, held], [, current]] = ((await this.link.redis
        .multi()
        .get(keys.state(name))
        .get(keys.stateVersion(name))
        .exec()) ?? []) as [[unknown, unknown], [unknown, unknown]];
      const at = Number(current ?? 0);
      const fresh =
        typeof held === 'string' && at > (this.versions.get(name) ?? 0) && !this.writing.has(name);
      if (fresh) this.versions.set(name, at);
      const document = fresh ? (held as string) : s.read();
      if (fresh && notes.length === 0) s.replace(document);
      for (const note of notes) s.replace(document, note);
    } catch (err) {
      this.failed(name, err);
    }
  }

  /** This node changed a state: queue its note and write it (after the write in flight, if any). */
  private changed(name: string, note: string): void {
    const queued = this.notes.get(name) ?? [];
    if (note !== '' && queued.length < MAX_NOTES) queued.push(note);
    this.notes.set(name, queued);
    this.push(name);
  }

  private push(name: string): void {
    if (this.writing.has(name)) {
      this.again.add(name);
      return;
    }
    this.writing.add(name);
    void this.write(name).finally(() => this.writing.delete(name));
  }

  /** Compare-and-set until this node's document is the cluster's copy (re-applied to newer copies it meets). */
  private async write(name: string): Promise<void> {
    const keys = this.link.keys;
    for (;;) {
      const s = this.source(name);
      if (s === undefined) return;
      this.again.delete(name);
      const document = s.read();
      const notes = this.notes.get(name) ?? [];
      const sent = notes.length;
      let reply: [number, string, string?];
      try {
        reply = (await this.link.redis.eval(
          WRITE,
          2,
          keys.state(name),
          keys.stateVersion(name),
          String(this.versions.get(name) ?? 0),
          document,
          keys.stateChannel,
          `${this.link.nodeId}${SEP}${name}${SEP}`,
          notes.map((n) => SEP + n).join(''),
        )) as [number, string, string?];
      } catch (err) {
        this.unsent.add(name);
        this.failed(name, err);
        return;
      }
      this.versions.set(name, Number(reply[1]));
      if (reply[0] === 1) {
        notes.splice(0, sent);
        s.settle?.(document);
        if (!this.again.has(name)) return;
        continue;
      }
      // Another node wrote first: this node's changes go onto its copy, then the write is tried again.
      const newer = reply[2] ?? '';
      if (newer === '') continue;
      if (s.rebase !== undefined) s.rebase(newer);
      else {
        this.logger.log(
          'warning',
          `Warning: Cluster: ${name} state changed on another node at the same time; this node's change was replaced.`,
        );
        s.replace(newer);
        return;
      }
    }
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
