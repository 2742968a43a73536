// A stable BrokerHooks object whose implementation can be swapped (SIGHUP reload) while connections keep it.

import type { BrokerHooks } from '../broker/hooks.js';

const HOOK_NAMES = ['authenticate', 'authorize', 'enhancedAuth', 'control', 'hasRole'] as const;

/**
 * Listener contexts hold `hooks` for the life of every connection; each hook is a getter reading the current
 * set, so a reload applies to the next check without touching connected clients. A hook the current set lacks
 * reads as undefined, exactly as a plain object would (the broker tests for presence).
 */
export class HookSwitch {
  readonly hooks: BrokerHooks;
  private current: BrokerHooks;

  constructor(initial: BrokerHooks = {}) {
    this.current = initial;
    const view: Record<string, unknown> = {};
    for (const name of HOOK_NAMES) {
      Object.defineProperty(view, name, { enumerable: true, get: () => this.current[name] });
    }
    this.hooks = view as BrokerHooks;
  }

  get active(): BrokerHooks {
    return this.current;
  }

  set(next: BrokerHooks): void {
    this.current = next;
  }
}
