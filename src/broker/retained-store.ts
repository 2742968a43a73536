// Retained messages, one per topic, kept in a trie so that a wildcard subscription finds its matches
// without scanning every retained topic.

import type { Message } from './message.js';
import { PayloadSlabs } from './payload-slab.js';

/** One topic level; `children` is created on first use. */
class RetainedNode {
  children: Map<string, RetainedChild> | null = null;
  message: Message | undefined = undefined;
  /** When `message` was set, on the store's own clock (a scan skips what was set after it began). */
  stamp = 0;
}

/**
 * A topic level below a node: a node, or, for a topic with nothing retained below it, its message itself (most
 * topics of a large store; a node costs 48 bytes). Such a message keeps its stamp as `retainedAt`.
 */
type RetainedChild = RetainedNode | Message;

/** Message.retainedAt of a message no longer retained: a scan holding it (a leaf) must not send it. */
const REMOVED = -1;

const NO_CHILDREN: ReadonlyMap<string, RetainedChild> = new Map();

function childrenOf(child: RetainedChild): ReadonlyMap<string, RetainedChild> {
  return child instanceof RetainedNode ? (child.children ?? NO_CHILDREN) : NO_CHILDREN;
}

/** The node below `node` at `level`, made if missing; a leaf there becomes a node holding its message. */
function inner(node: RetainedNode, level: string): RetainedNode {
  node.children ??= new Map();
  const next = node.children.get(level);
  if (next instanceof RetainedNode) return next;
  const fresh = new RetainedNode();
  if (next !== undefined) {
    fresh.message = next;
    fresh.stamp = next.retainedAt;
  }
  node.children.set(level, fresh);
  return fresh;
}

/**
 * The retained messages the broker keeps, one per topic. The local trie below is the one implementation today; a
 * cluster or a Redis-backed store provides the same calls (a synchronous view: `match` runs on SUBSCRIBE).
 */
export interface RetainedStore {
  readonly size: number;
  /** Stores, replaces, or (for an empty payload) deletes the retained message of the message's topic. */
  set(message: Message): void;
  get(topic: string): Message | undefined;
  /** Every retained message whose topic matches the filter, appended to `out`; expired ones are left out. */
  match(filter: string, now: number, out?: Message[]): Message[];
  /**
   * The same matches a few at a time (a `#` over a million retained messages must not take one long turn).
   * Messages set after the scan began are left out: they reached the new subscriber live. Optional: a store
   * without it is read with `match`.
   */
  scan?(filter: string): RetainedScan;
}

/** An incremental `match`: call `next` until it returns false. */
export interface RetainedScan {
  /** Appends up to `max` more matching messages to `out`; false once nothing is left. */
  next(max: number, now: number, out: Message[]): boolean;
}

/** Retained messages of this process, in a trie of topic levels. */
export class TrieRetainedStore implements RetainedStore {
  private readonly root = new RetainedNode();
  /** Where small payloads are kept (payload-slab.ts). */
  readonly slabs = new PayloadSlabs();
  private count = 0;
  private clock = 0;

  get size(): number {
    return this.count;
  }

  /** Stores, replaces, or (for an empty payload) deletes the retained message of a topic [MQTT-3.3.1-6..7]. */
  set(message: Message): void {
    const levels = message.topic.split('/');
    if (message.payload.length === 0) {
      if (this.deleteAt(levels)) this.count--;
      return;
    }
    const last = levels.length - 1;
    let node = this.root;
    for (let i = 0; i < last; i++) node = inner(node, levels[i]!);
    node.children ??= new Map();
    const key = levels[last]!;
    const at = node.children.get(key);
    const stamp = ++this.clock;
    let previous: Message | undefined;
    if (at instanceof RetainedNode) {
      previous = at.message;
      at.message = message;
      at.stamp = stamp;
    } else {
      previous = at;
      node.children.set(key, message);
    }
    message.retainedAt = stamp;
    if (previous === undefined) this.count++;
    else if (previous !== message) this.dropped(previous);
    message.keepLong(this.slabs);
  }

  /** `message` is no longer retained here. */
  private dropped(message: Message): void {
    message.retainedAt = REMOVED;
    this.slabs.release(message);
  }

  get(topic: string): Message | undefined {
    const levels = topic.split('/');
    let node = this.root;
    for (let i = 0; i < levels.length; i++) {
      const next = node.children?.get(levels[i]!);
      if (next === undefined) return undefined;
      if (!(next instanceof RetainedNode)) return i === levels.length - 1 ? next : undefined;
      node = next;
    }
    return node.message;
  }

  /** Every retained message whose topic matches the filter; expired ones are removed on the way. */
  match(filter: string, now: number, out: Message[] = []): Message[] {
    this.collect(filter.split('/'), now, out);
    return out;
  }

  scan(filter: string): RetainedScan {
    const parts = filter.split('/');
    const hashAt = parts.indexOf('#');
    // The levels before `#` are walked now (their frontier is small next to the subtrees below it).
    const frontier: RetainedChild[] = [];
    this.frontier(hashAt < 0 ? parts : parts.slice(0, hashAt), frontier);
    if (hashAt < 0) return new TrieScan(this, this.clock, frontier, []);
    // "a/#" matches "a" itself too; [MQTT-4.7.2-1] a leading wildcard skips `$` topics.
    const first = hashAt > 0 ? frontier : [];
    const stack: RetainedChild[] = [];
    for (let k = frontier.length - 1; k >= 0; k--) {
      for (const [level, child] of childrenOf(frontier[k]!)) {
        if (hashAt === 0 && level.startsWith('$')) continue;
        stack.push(child);
      }
    }
    return new TrieScan(this, this.clock, first, stack);
  }

  /** @internal TrieScan: one level's message, if it is still the one of before the scan began. */
  takeIfBefore(child: RetainedChild, since: number, now: number, out: Message[]): boolean {
    const stamp = child instanceof RetainedNode ? child.stamp : child.retainedAt;
    if (stamp > since || stamp === REMOVED) return false;
    const before = out.length;
    this.take(child, now, out);
    return out.length > before;
  }

  /** The levels a filter without `#` reaches. */
  private frontier(parts: string[], out: RetainedChild[]): void {
    let frontier: RetainedChild[] = [this.root];
    for (let i = 0; i < parts.length && frontier.length > 0; i++) {
      const part = parts[i]!;
      const next: RetainedChild[] = [];
      for (const node of frontier) {
        // A leaf has nothing below it.
        if (!(node instanceof RetainedNode)) continue;
        if (part !== '+') {
          const child = node.children?.get(part);
          if (child !== undefined) next.push(child);
          continue;
        }
        for (const [level, child] of childrenOf(node)) {
          if (i === 0 && level.startsWith('$')) continue;
          next.push(child);
        }
      }
      frontier = next;
    }
    for (const node of frontier) out.push(node);
  }

  *all(): Generator<Message> {
    const stack: RetainedChild[] = [this.root];
    while (stack.length > 0) {
      const child = stack.pop()!;
      const message = child instanceof RetainedNode ? child.message : child;
      if (message !== undefined) yield message;
      for (const c of childrenOf(child).values()) stack.push(c);
    }
  }

  /** Level by level over the nodes the filter reaches (no recursion, so no depth exhausts the stack). */
  private collect(parts: string[], now: number, out: Message[]): void {
    const hashAt = parts.indexOf('#');
    const frontier: RetainedChild[] = [];
    this.frontier(hashAt < 0 ? parts : parts.slice(0, hashAt), frontier);
    if (hashAt < 0) for (const node of frontier) this.take(node, now, out);
    else for (const node of frontier) this.takeSubtree(node, hashAt === 0, now, out);
  }

  private takeSubtree(node: RetainedChild, atRoot: boolean, now: number, out: Message[]): void {
    // "a/#" matches "a" itself too.
    if (!atRoot) this.take(node, now, out);
    const stack: RetainedChild[] = [];
    for (const [level, next] of childrenOf(node)) {
      if (atRoot && level.startsWith('$')) continue;
      stack.push(next);
    }
    while (stack.length > 0) {
      const n = stack.pop()!;
      this.take(n, now, out);
      for (const c of childrenOf(n).values()) stack.push(c);
    }
  }

  private take(child: RetainedChild, now: number, out: Message[]): void {
    const message = child instanceof RetainedNode ? child.message : child;
    if (message === undefined) return;
    if (!message.isExpired(now)) {
      out.push(message);
      return;
    }
    if (child instanceof RetainedNode) {
      child.message = undefined;
      this.dropped(message);
      this.count--;
    } else if (this.deleteAt(message.topic.split('/'))) this.count--;
  }

  /** Iterative: walks down recording the path, then prunes the levels left empty, deepest first. */
  private deleteAt(levels: string[]): boolean {
    const path: RetainedNode[] = [];
    const last = levels.length - 1;
    let node: RetainedNode = this.root;
    for (let i = 0; i < last; i++) {
      const next = node.children?.get(levels[i]!);
      if (!(next instanceof RetainedNode)) return false;
      path.push(node);
      node = next;
    }
    const at = node.children?.get(levels[last]!);
    if (at === undefined) return false;
    if (at instanceof RetainedNode) {
      if (at.message === undefined) return false;
      this.dropped(at.message);
      at.message = undefined;
      if (at.children !== null) return true;
    } else this.dropped(at);
    // The level of the topic is empty now: off its parent, and so on up while they are left empty.
    for (let level = last; ; level--) {
      const children = node.children!;
      children.delete(levels[level]!);
      if (children.size > 0) break;
      node.children = null;
      if (node.message !== undefined || path.length === 0) break;
      node = path.pop()!;
    }
    return true;
  }
}

/** A `#` subtree walked depth-first a few messages per call, with an explicit stack. */
class TrieScan implements RetainedScan {
  private firstAt = 0;

  constructor(
    private readonly store: TrieRetainedStore,
    private readonly since: number,
    /** Levels matched as such: all of them for a filter without `#`, the level above it for "a/#". */
    private readonly first: RetainedChild[],
    private readonly stack: RetainedChild[],
  ) {}

  next(max: number, now: number, out: Message[]): boolean {
    let n = 0;
    const { first, stack, store, since } = this;
    while (this.firstAt < first.length && n < max) {
      if (store.takeIfBefore(first[this.firstAt++]!, since, now, out)) n++;
    }
    while (stack.length > 0 && n < max) {
      const node = stack.pop()!;
      if (node instanceof RetainedNode && node.children !== null)
        for (const c of node.children.values()) stack.push(c);
      if (store.takeIfBefore(node, since, now, out)) n++;
    }
    return this.firstAt < first.length || stack.length > 0;
  }
}
