// The subscription index: a trie over topic levels with `+` and `#` branches, plus a cache of match results
// per topic so that routing a message to a topic seen before costs one Map lookup and allocates nothing.

import type { SubscriptionEntry } from './subscription.js';

/**
 * One topic level. Its collections are created on first use and dropped when emptied: with a large set of
 * distinct filters most nodes are leaves holding one or two subscriptions, and an empty Map or array each
 * costs more than the node itself.
 */
class TreeNode {
  children: Map<string, Child> | null = null;
  plus: TreeNode | null = null;
  /** Subscriptions whose filter ends at this node. */
  exact: EntryList = null;
  /** Subscriptions whose filter ends with `#` below this node. */
  hash: EntryList = null;

  isEmpty(): boolean {
    return this.children === null && this.plus === null && this.exact === null && this.hash === null;
  }
}

/**
 * The subscriptions of one node: one entry as itself (most filters have a single subscriber, and a list of one
 * costs 56 bytes more), several as a list.
 */
type EntryList = SubscriptionEntry | SubscriptionEntry[] | null;

/**
 * A literal child: a node, or, for a filter's last level with nothing below it, that filter's subscriptions
 * themselves (most filters of a large set end in such a leaf, and a node for it costs 56 bytes).
 */
type Child = TreeNode | SubscriptionEntry | SubscriptionEntry[];

/** Shared subscriptions of one group on one filter: each message goes to one member, round-robin. */
export class ShareGroup {
  readonly members: SubscriptionEntry[] = [];
  next = 0;
  constructor(
    readonly name: string,
    readonly filter: string,
  ) {}
}

export interface MatchResult {
  /** Non-shared subscriptions matching the topic (a client may appear several times). */
  readonly entries: readonly SubscriptionEntry[];
  /** Share groups with a filter matching the topic. */
  readonly groups: readonly ShareGroup[];
}

const EMPTY: MatchResult = Object.freeze({ entries: Object.freeze([]), groups: Object.freeze([]) });
const CACHE_LIMIT = 10_000;

export class TopicTree {
  private readonly root = new TreeNode();
  private readonly groups = new Map<string, ShareGroup>(); // key: group + '\0' + filter
  private readonly cache = new Map<string, MatchResult>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The share group `name` on `filter` (the match filter), if it has members. */
  shareGroup(name: string, filter: string): ShareGroup | undefined {
    return this.groups.get(`${name}\0${filter}`);
  }

  add(entry: SubscriptionEntry): void {
    this.invalidate();
    this.count++;
    if (entry.shareGroup !== undefined) {
      const key = `${entry.shareGroup}\0${entry.matchFilter}`;
      let group = this.groups.get(key);
      if (group === undefined) {
        group = new ShareGroup(entry.shareGroup, entry.matchFilter);
        this.groups.set(key, group);
      }
      group.members.push(entry);
      return;
    }
    const levels = entry.matchFilter.split('/');
    const last = levels.length - 1;
    let node = this.root;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#') {
        shareFilter(entry, node.hash);
        node.hash = withEntry(node.hash, entry);
        return;
      }
      if (level === '+') {
        node.plus ??= new TreeNode();
        node = node.plus;
      } else if (i === last) {
        addLeaf(node, level, entry);
        return;
      } else {
        node = child(node, level);
      }
    }
    shareFilter(entry, node.exact);
    node.exact = withEntry(node.exact, entry);
  }

  remove(entry: SubscriptionEntry): void {
    this.invalidate();
    if (entry.shareGroup !== undefined) {
      const key = `${entry.shareGroup}\0${entry.matchFilter}`;
      const group = this.groups.get(key);
      if (group !== undefined && removeFrom(group.members, entry)) {
        this.count--;
        if (group.members.length === 0) this.groups.delete(key);
      }
      return;
    }
    const levels = entry.matchFilter.split('/');
    if (this.removeAt(levels, entry)) this.count--;
  }

  /** Clearing a Map allocates a new table even when empty: a restore of a million subscriptions made that much garbage. */
  private invalidate(): void {
    if (this.cache.size > 0) this.cache.clear();
  }

  /** All subscriptions matching a topic name. The result is shared and must not be kept across changes. */
  match(topic: string): MatchResult {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const entries: SubscriptionEntry[] = [];
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] a topic starting with `$` is not matched by a filter starting with a wildcard.
    collect(this.root, levels, entries, topic.charCodeAt(0) === 0x24);
    const groups: ShareGroup[] = [];
    for (const group of this.groups.values()) {
      if (filterMatches(group.filter, levels)) groups.push(group);
    }
    const result = entries.length === 0 && groups.length === 0 ? EMPTY : { entries, groups };
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(topic, result);
    return result;
  }

  /** Iterative (no recursion per level), so no filter depth can exhaust the stack. */
  private removeAt(levels: string[], entry: SubscriptionEntry): boolean {
    const path: TreeNode[] = [];
    let node = this.root;
    let removed = false;
    for (let i = 0; ; i++) {
      if (i === levels.length) {
        const rest = without(node.exact, entry);
        removed = rest !== undefined;
        if (rest !== undefined) node.exact = rest;
        break;
      }
      const level = levels[i]!;
      if (level === '#') {
        const rest = without(node.hash, entry);
        removed = rest !== undefined;
        if (rest !== undefined) node.hash = rest;
        break;
      }
      const next = level === '+' ? node.plus : node.children?.get(level);
      if (next === null || next === undefined) return false;
      if (!(next instanceof TreeNode)) {
        // A leaf: the filter's subscriptions, held by `node` itself.
        if (i !== levels.length - 1) return false;
        removed = removeFromLeaf(node, level, next, entry);
        break;
      }
      path.push(node);
      node = next;
    }
    if (!removed) return false;
    // Prune the nodes left empty, deepest first: path[i] is the parent of the node reached by levels[i].
    for (let i = path.length - 1; i >= 0 && node.isEmpty(); i--) {
      const parent = path[i]!;
      if (levels[i] === '+') parent.plus = null;
      else {
        const children = parent.children!;
        children.delete(levels[i]!);
        if (children.size === 0) parent.children = null;
      }
      node = parent;
    }
    return true;
  }
}

/** The node below `node` at `level`, made if missing; a leaf there becomes a node holding it as `exact`. */
function child(node: TreeNode, level: string): TreeNode {
  node.children ??= new Map();
  const next = node.children.get(level);
  if (next instanceof TreeNode) return next;
  const fresh = new TreeNode();
  if (next !== undefined) fresh.exact = next;
  node.children.set(level, fresh);
  return fresh;
}

/** Adds `entry`, whose filter ends at `level` below `node`: to a leaf there, or to the node there. */
function addLeaf(node: TreeNode, level: string, entry: SubscriptionEntry): void {
  node.children ??= new Map();
  const next = node.children.get(level);
  if (next instanceof TreeNode) {
    shareFilter(entry, next.exact);
    next.exact = withEntry(next.exact, entry);
    return;
  }
  const list = next ?? null;
  shareFilter(entry, list);
  node.children.set(level, withEntry(list, entry)!);
}

/** Removes `entry` from the leaf `leaf` at `level` below `node`, dropping the leaf once empty. */
function removeFromLeaf(node: TreeNode, level: string, leaf: Child, entry: SubscriptionEntry): boolean {
  const rest = without(leaf as SubscriptionEntry | SubscriptionEntry[], entry);
  if (rest === undefined) return false;
  const children = node.children!;
  if (rest !== null) children.set(level, rest);
  else {
    children.delete(level);
    if (children.size === 0) node.children = null;
  }
  return true;
}

/** The entries of one list all have the same match filter: a new one takes the string the first one has. */
function shareFilter(entry: SubscriptionEntry, list: EntryList): void {
  if (list === null || entry.shareFilter === undefined) return;
  entry.shareFilter((Array.isArray(list) ? list[0]! : list).matchFilter);
}

/**
 * `list` with `entry` added. Short lists are copied at their exact size: push() would give a list of one a
 * capacity of 17, which for many filters with a subscriber or two is most of the tree's memory.
 */
function withEntry(list: EntryList, entry: SubscriptionEntry): EntryList {
  if (list === null) return entry;
  if (!Array.isArray(list)) return [list, entry];
  if (list.length >= 8) {
    list.push(entry);
    return list;
  }
  // concat allocates the result at its exact length (slice + push or a spread would not).
  return list.concat([entry]);
}

/** `list` without `entry`; undefined when it was not there. */
function without(list: EntryList, entry: SubscriptionEntry): EntryList | undefined {
  if (list === null) return undefined;
  if (!Array.isArray(list)) return list === entry ? null : undefined;
  const at = list.indexOf(entry);
  if (at < 0) return undefined;
  if (list.length === 1) return null;
  list.splice(at, 1);
  return list;
}

function removeFrom(list: SubscriptionEntry[], entry: SubscriptionEntry): boolean {
  const at = list.indexOf(entry);
  if (at < 0) return false;
  list.splice(at, 1);
  return true;
}

// Explicit stack for collect(), reused (match() is synchronous and never re-entered): nodes and their depths.
const stackNodes: (TreeNode | undefined)[] = [];
const stackDepths: number[] = [];

/**
 * Depth-first walk in the order a recursive one would take (a node, then its literal child's subtree, then its
 * `+` child's), kept iterative so that no topic depth can exhaust the call stack.
 */
function collect(root: TreeNode, levels: string[], out: SubscriptionEntry[], dollar: boolean): void {
  const nodes = stackNodes;
  const depths = stackDepths;
  nodes[0] = root;
  depths[0] = 0;
  let top = 1;
  const n = levels.length;
  while (top > 0) {
    top--;
    const node = nodes[top]!;
    // Cleared as popped so the scratch stack keeps no removed node alive.
    nodes[top] = undefined;
    const i = depths[top]!;
    // [MQTT-4.7.2-1] no wildcard at the first level matches a `$` topic.
    const wild = !(dollar && i === 0);
    // `#` also matches the parent level itself ("a/#" matches "a") [MQTT-4.7.1-2].
    if (wild) pushAll(out, node.hash);
    if (i === n) {
      pushAll(out, node.exact);
      continue;
    }
    // Pushed first so that it is walked after the literal child's subtree.
    if (node.plus !== null && wild) {
      nodes[top] = node.plus;
      depths[top++] = i + 1;
    }
    const next = node.children === null ? undefined : node.children.get(levels[i]!);
    if (next instanceof TreeNode) {
      nodes[top] = next;
      depths[top++] = i + 1;
    } else if (next !== undefined && i + 1 === n) {
      // A leaf matches a topic that ends there; taken now, as its node would be popped next.
      pushAll(out, next);
    }
  }
}

function pushAll(out: SubscriptionEntry[], list: EntryList): void {
  if (list === null) return;
  if (!Array.isArray(list)) {
    out.push(list);
    return;
  }
  for (let i = 0; i < list.length; i++) out.push(list[i]!);
}

/** Whether a (non-shared) filter matches a topic already split into levels. */
function filterMatches(filter: string, topicLevels: readonly string[]): boolean {
  const parts = filter.split('/');
  const dollar = (topicLevels[0] ?? '').startsWith('$');
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part === '#') return !(dollar && i === 0);
    if (i >= topicLevels.length) return false;
    if (part === '+') {
      if (dollar && i === 0) return false;
      continue;
    }
    if (part !== topicLevels[i]) return false;
  }
  return parts.length === topicLevels.length;
}
