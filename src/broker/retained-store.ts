// Retained messages, one per topic, kept in a trie so that a wildcard subscription finds its matches
// without scanning every retained topic.

import type { Message } from './message.js';
import { PayloadSlabs } from './payload-slab.js';

/** One topic level; `children` is created on first use (most nodes of a large store are leaves). */
class RetainedNode {
  children: Map<string, RetainedNode> | null = null;
  message: Message | undefined = undefined;
  /** When `message` was set, on the store's own clock (a scan skips what was set after it began). */
  stamp = 0;
}

const NO_CHILDREN: ReadonlyMap<string, RetainedNode> = new Map();

function childrenOf(node: RetainedNode): ReadonlyMap<string, RetainedNode> {
  return node.children ?? NO_CHILDREN;
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
    let node = this.root;
    for (const level of levels) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (next === undefined) {
        next = new RetainedNode();
        node.children.set(level, next);
      }
      node = next;
    }
    const previous = node.message;
    if (previous === undefined) this.count++;
    else if (previous !== message) this.slabs.release(previous);
    message.keepLong(this.slabs);
    node.message = message;
    node.stamp = ++this.clock;
  }

  get(topic: string): Message | undefined {
    let node: RetainedNode | undefined = this.root;
    for (const level of topic.split('/')) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
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
    const frontier: RetainedNode[] = [];
    this.frontier(hashAt < 0 ? parts : parts.slice(0, hashAt), frontier);
    if (hashAt < 0) return new TrieScan(this, this.clock, frontier, []);
    // "a/#" matches "a" itself too; [MQTT-4.7.2-1] a leading wildcard skips `$` topics.
    const first = hashAt > 0 ? frontier : [];
    const stack: RetainedNode[] = [];
    for (let k = frontier.length - 1; k >= 0; k--) {
      for (const [level, child] of childrenOf(frontier[k]!)) {
        if (hashAt === 0 && level.startsWith('$')) continue;
        stack.push(child);
      }
    }
    return new TrieScan(this, this.clock, first, stack);
  }

  /** @internal TrieScan: one node's message, if it is still the one of before the scan began. */
  takeIfBefore(node: RetainedNode, since: number, now: number, out: Message[]): boolean {
    if (node.stamp > since) return false;
    const before = out.length;
    this.take(node, now, out);
    return out.length > before;
  }

  /** The nodes a filter without `#` reaches. */
  private frontier(parts: string[], out: RetainedNode[]): void {
    let frontier: RetainedNode[] = [this.root];
    for (let i = 0; i < parts.length && frontier.length > 0; i++) {
      const part = parts[i]!;
      const next: RetainedNode[] = [];
      for (const node of frontier) {
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
    const stack: RetainedNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.message !== undefined) yield node.message;
      for (const c of childrenOf(node).values()) stack.push(c);
    }
  }

  /** Level by level over the nodes the filter reaches (no recursion, so no depth exhausts the stack). */
  private collect(parts: string[], now: number, out: Message[]): void {
    const hashAt = parts.indexOf('#');
    const frontier: RetainedNode[] = [];
    this.frontier(hashAt < 0 ? parts : parts.slice(0, hashAt), frontier);
    if (hashAt < 0) for (const node of frontier) this.take(node, now, out);
    else for (const node of frontier) this.takeSubtree(node, hashAt === 0, now, out);
  }

  private takeSubtree(node: RetainedNode, atRoot: boolean, now: number, out: Message[]): void {
    // "a/#" matches "a" itself too.
    if (!atRoot) this.take(node, now, out);
    const stack: RetainedNode[] = [];
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

  private take(node: RetainedNode, now: number, out: Message[]): void {
    const message = node.message;
    if (message === undefined) return;
    if (message.isExpired(now)) {
      node.message = undefined;
      this.slabs.release(message);
      this.count--;
      return;
    }
    out.push(message);
  }

  /** Iterative: walks down recording the path, then prunes the nodes left empty, deepest first. */
  private deleteAt(levels: string[]): boolean {
    const path: RetainedNode[] = [];
    let node: RetainedNode = this.root;
    for (const level of levels) {
      const next = node.children?.get(level);
      if (next === undefined) return false;
      path.push(node);
      node = next;
    }
    if (node.message === undefined) return false;
    this.slabs.release(node.message);
    node.message = undefined;
    for (let i = path.length - 1; i >= 0 && node.message === undefined && node.children === null; i--) {
      const parent = path[i]!;
      const children = parent.children!;
      children.delete(levels[i]!);
      if (children.size === 0) parent.children = null;
      node = parent;
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
    /** Nodes matched as such: all of them for a filter without `#`, the level above it for "a/#". */
    private readonly first: RetainedNode[],
    private readonly stack: RetainedNode[],
  ) {}

  next(max: number, now: number, out: Message[]): boolean {
    let n = 0;
    const { first, stack, store, since } = this;
    while (this.firstAt < first.length && n < max) {
      if (store.takeIfBefore(first[this.firstAt++]!, since, now, out)) n++;
    }
    while (stack.length > 0 && n < max) {
      const node = stack.pop()!;
      if (node.children !== null) for (const c of node.children.values()) stack.push(c);
      if (store.takeIfBefore(node, since, now, out)) n++;
    }
    return this.firstAt < first.length || stack.length > 0;
  }
}
