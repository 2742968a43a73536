// Every bridge of a broker: started with the listeners, stopped before them, and changed at run time
// (added, removed, restarted, or replaced when a reload brings a different `connection` section).

import type { BridgeConfig } from './bridge-config.js';
import type { BridgeHost, BridgeStats } from './bridge-host.js';
import { BridgeLink } from './bridge-link.js';

export class Bridges {
  private readonly links = new Map<string, BridgeLink>();

  constructor(private readonly host: BridgeHost) {}

  /** Starts a bridge; throws if one of that name runs already. */
  add(config: BridgeConfig): void {
    if (this.links.has(config.name)) throw new Error(`bridge "${config.name}" exists already`);
    const link = new BridgeLink(config, this.host);
    this.links.set(config.name, link);
    link.start();
  }

  /** Stops and forgets a bridge; false when there is none of that name. */
  remove(name: string): boolean {
    const link = this.links.get(name);
    if (link === undefined) return false;
    link.stop();
    this.links.delete(name);
    return true;
  }

  /**
   * Stops a bridge but keeps it (runtime control): it stays down until `start`, a restart of the broker, or a
   * reload that changes its section. False when there is none of that name.
   */
  stop(name: string): boolean {
    const link = this.links.get(name);
    link?.stop();
    return link !== undefined;
  }

  /** Starts a stopped bridge again as its start_type says; a running one is left alone. */
  start(name: string): boolean {
    const link = this.links.get(name);
    link?.start();
    return link !== undefined;
  }

  /** Drops a bridge's link and connects again at once. */
  restart(name: string): boolean {
    const link = this.links.get(name);
    link?.restart();
    return link !== undefined;
  }

  /**
   * Makes the running bridges those of `configs`: new ones start, removed ones stop, changed ones restart
   * with their new settings, unchanged ones keep their link. Returns the names touched.
   */
  reconfigure(configs: readonly BridgeConfig[]): { added: string[]; removed: string[]; changed: string[] } {
    const wanted = new Map(configs.map((c) => [c.name, c]));
    const result = { added: [] as string[], removed: [] as string[], changed: [] as string[] };
    for (const [name, link] of this.links) {
      const next = wanted.get(name);
      if (next === undefined) {
        this.remove(name);
        result.removed.push(name);
      } else if (!sameConfig(link.config, next)) {
        this.remove(name);
        this.add(next);
        result.changed.push(name);
      }
    }
    for (const config of configs) {
      if (this.links.has(config.name)) continue;
      this.add(config);
      result.added.push(config.name);
    }
    return result;
  }

  list(): Array<{ name: string; stats: BridgeStats }> {
    return [...this.links.values()].map((l) => ({ name: l.name, stats: l.snapshot() }));
  }

  get(name: string): BridgeLink | undefined {
    return this.links.get(name);
  }

  stopAll(): void {
    for (const link of this.links.values()) link.stop();
    this.links.clear();
  }
}

/** The where-written site does not count: moving a section in the file changes nothing. */
function sameConfig(a: BridgeConfig, b: BridgeConfig): boolean {
  return JSON.stringify({ ...a, site: null }) === JSON.stringify({ ...b, site: null });
}
