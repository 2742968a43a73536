// A stable BrokerHooks object whose implementation can be swapped (SIGHUP reload) while connections keep it.

import type { BrokerHooks } from '../broker/hooks.js';

const HOOK_NAMES = ['authenticate', 'authorize', 'enhancedAuth', 'control', 'hasRole'] as const;

/**
 * Listener contexts hold `hooks` for the life of every connection; set() copies the hooks of the current set
 * into it, so a reload applies to the next check without touching connected clients. A hook the current set
 * lacks reads as undefined, exactly as a plain object would (the broker tests for presence). Data properties,
 * not getters: the PUBLISH path reads `authorize` for every message.
 */
export class HookSwitch {
  readonly hooks: BrokerHooks;
  private current: BrokerHooks;

  constructor(initial: BrokerHooks = {}) {
    this.current = initial;
    const view: Record<string, unknown> = {};
    for (const name of HOOK_NAMES) view[name] = initial[name];
    this.hooks = view as BrokerHooks;
  }

  get active(): BrokerHooks {
    return this.current;
  }

  set(next: BrokerHooks): void {
    this.current = next;
    const view = this.hooks as Record<string, unknown>;
    for (const name of HOOK_NAMES) view[name] = next[name];
  }
}
