// Retained messages, one per topic, kept in a trie so that a wildcard subscription finds its matches
// without scanning every retained topic.

import type { Message } from './message.js';

/** One topic level; `children` is created on first use (most nodes of a large store are leaves). */
class RetainedNode {
  children: Map<string, RetainedNode> | null = null;
  message: Message | undefined = undefined;
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
}

/** Retained messages of this process, in a trie of topic levels. */
export class TrieRetainedStore implements RetainedStore {
  private readonly root = new RetainedNode();
  private count = 0;

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
    message.keepLong();
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
    if (node.message === undefined) this.count++;
    node.message = message;
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

  *all(): Generator<Message> {
    const stack: RetainedNode[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.message !== undefined) yield node.message;
      for (const c of childrenOf(node).values()) stack.push(c);
    }
  }

  /**
   * Level by level over the nodes the filter reaches so far (no recursion, so no depth exhausts the stack); the
   * order of the frontier is the order a depth-first walk would visit them in.
   */
  private collect(parts: string[], now: number, out: Message[]): void {
    let frontier: RetainedNode[] = [this.root];
    for (let i = 0; i < parts.length && frontier.length > 0; i++) {
      const part = parts[i]!;
      if (part === '#') {
        for (const node of frontier) this.takeSubtree(node, i === 0, now, out);
        return;
      }
      const next: RetainedNode[] = [];
      if (part === '+') {
        for (const node of frontier) {
          for (const [level, child] of childrenOf(node)) {
            // [MQTT-4.7.2-1] wildcards at the first level do not match `$` topics.
            if (i === 0 && level.startsWith('$')) continue;
            next.push(child);
          }
        }
      } else {
        for (const node of frontier) {
          const child = node.children?.get(part);
          if (child !== undefined) next.push(child);
        }
      }
      frontier = next;
    }
    for (const node of frontier) this.take(node, now, out);
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
