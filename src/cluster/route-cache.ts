// This node's copy of the other nodes' route tables: which nodes have a subscription matching a topic (a trie
// over filter levels, node ids at the ends), and the share groups with their member count per node. Matches are
// cached per topic, so forwarding a message to a topic seen before costs one Map lookup.

import { topicMatches } from '../auth/topic-match.js';

/** The route-table key of a share group's filter: `$share/<group>/<filter>`. */
export const SHARE_PREFIX = '$share/';

class RouteNode {
  readonly children = new Map<string, RouteNode>();
  plus: RouteNode | undefined;
  /** Nodes with a filter ending here / ending with `#` below here. */
  readonly exact = new Set<string>();
  readonly hash = new Set<string>();
}

/** A share group across the other nodes: member counts per node, for the weighted round-robin. */
export class RemoteGroup {
  readonly counts = new Map<string, number>();
  total = 0;
  next = 0;
  constructor(
    readonly name: string,
    readonly filter: string,
  ) {}

  /** The next member's node among `extra` local members plus the remote ones (weighted round-robin). */
  pick(local: number): string | undefined {
    const total = local + this.total;
    if (total === 0) return undefined;
    let at = this.next++ % total;
    if (this.next >= total) this.next = 0;
    if (at < local) return undefined;
    at -= local;
    for (const [node, count] of this.counts) {
      if (at < count) return node;
      at -= count;
    }
    return undefined;
  }
}

export interface RemoteMatch {
  /** Nodes with an ordinary subscription matching the topic. */
  readonly nodes: readonly string[];
  readonly groups: readonly RemoteGroup[];
}

export const NO_MATCH: RemoteMatch = Object.freeze({ nodes: Object.freeze([]), groups: Object.freeze([]) });
const CACHE_LIMIT = 10_000;

export class RouteCache {
  private readonly root = new RouteNode();
  private readonly groups = new Map<string, RemoteGroup>();
  /** Per node: its keys (filter or `$share/<group>/<filter>`) and their counts. */
  private readonly byNode = new Map<string, Map<string, number>>();
  private readonly cache = new Map<string, RemoteMatch>();

  /** Nodes that have at least one route. */
  get nodeCount(): number {
    return this.byNode.size;
  }

  /** The nodes that have routes. */
  nodes(): string[] {
    return [...this.byNode.keys()];
  }

  routesOf(node: string): ReadonlyMap<string, number> | undefined {
    return this.byNode.get(node);
  }

  /** Sets one route of a node; count 0 removes it. */
  set(node: string, key: string, count: number): void {
    let keys = this.byNode.get(node);
    const before = keys?.get(key) ?? 0;
    if (before === count) return;
    this.cache.clear();
    if (count > 0) {
      if (keys === undefined) {
        keys = new Map();
        this.byNode.set(node, keys);
      }
      keys.set(key, count);
    } else {
      keys?.delete(key);
      if (keys?.size === 0) this.byNode.delete(node);
    }
    const share = parseShareKey(key);
    if (share !== undefined) {
      this.setGroup(node, share.group, share.filter, count);
      return;
    }
    if (before === 0) this.addFilter(node, key);
    else if (count === 0) this.removeFilter(node, key);
  }

  /** Replaces every route of a node (its full table, after a start or a Redis outage). */
  replaceNode(node: string, routes: ReadonlyMap<string, number>): void {
    const old = this.byNode.get(node);
    if (old !== undefined) for (const key of [...old.keys()]) if (!routes.has(key)) this.set(node, key, 0);
    for (const [key, count] of routes) this.set(node, key, count);
  }

  dropNode(node: string): void {
    this.replaceNode(node, new Map());
  }

  group(name: string, filter: string): RemoteGroup | undefined {
    return this.groups.get(`${name}\0${filter}`);
  }

  match(topic: string): RemoteMatch {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const found = new Set<string>();
    collect(this.root, topic.split('/'), found, topic.charCodeAt(0) === 0x24);
    const groups: RemoteGroup[] = [];
    for (const g of this.groups.values()) if (topicMatches(g.filter, topic)) groups.push(g);
    const result = found.size === 0 && groups.length === 0 ? NO_MATCH : { nodes: [...found], groups };
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(topic, result);
    return result;
  }

  private setGroup(node: string, name: string, filter: string, count: number): void {
    const key = `${name}\0${filter}`;
    let g = this.groups.get(key);
    if (g === undefined) {
      if (count === 0) return;
      g = new RemoteGroup(name, filter);
      this.groups.set(key, g);
    }
    g.total += count - (g.counts.get(node) ?? 0);
    if (count > 0) g.counts.set(node, count);
    else g.counts.delete(node);
    if (g.counts.size === 0) this.groups.delete(key);
  }

  private addFilter(node: string, filter: string): void {
    let at = this.root;
    const levels = filter.split('/');
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#') {
        at.hash.add(node);
        return;
      }
      if (level === '+') {
        at.plus ??= new RouteNode();
        at = at.plus;
        continue;
      }
      let next = at.children.get(level);
      if (next === undefined) {
        next = new RouteNode();
        at.children.set(level, next);
      }
      at = next;
    }
    at.exact.add(node);
  }

  /** Empty trie nodes are left in place: filters come back, and a node's full table is bounded by its own. */
  private removeFilter(node: string, filter: string): void {
    let at: RouteNode | undefined = this.root;
    const levels = filter.split('/');
    for (let i = 0; i < levels.length && at !== undefined; i++) {
      const level = levels[i]!;
      if (level === '#') {
        at.hash.delete(node);
        return;
      }
      at = level === '+' ? at.plus : at.children.get(level);
    }
    at?.exact.delete(node);
  }
}

/** `$share/<group>/<filter>` -> its parts; undefined for an ordinary filter. */
export function parseShareKey(key: string): { group: string; filter: string } | undefined {
  if (!key.startsWith(SHARE_PREFIX)) return undefined;
  const slash = key.indexOf('/', SHARE_PREFIX.length);
  if (slash < 0) return undefined;
  return { group: key.slice(SHARE_PREFIX.length, slash), filter: key.slice(slash + 1) };
}

/** Iterative walk (no recursion per level) adding the nodes of every filter that matches the topic levels. */
function collect(root: RouteNode, levels: string[], out: Set<string>, dollar: boolean): void {
  let frontier: RouteNode[] = [root];
  for (let i = 0; i < levels.length && frontier.length > 0; i++) {
    const next: RouteNode[] = [];
    const level = levels[i]!;
    for (const n of frontier) {
      // [MQTT-4.7.2-1] a `$` topic is not matched by a filter starting with a wildcard.
      const wild = !(dollar && i === 0);
      if (wild) for (const id of n.hash) out.add(id);
      const child = n.children.get(level);
      if (child !== undefined) next.push(child);
      if (wild && n.plus !== undefined) next.push(n.plus);
    }
    frontier = next;
  }
  for (const n of frontier) {
    for (const id of n.exact) out.add(id);
    // "a/#" matches "a" itself [MQTT-4.7.1-2].
    for (const id of n.hash) out.add(id);
  }
}
