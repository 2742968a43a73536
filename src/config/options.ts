// The option table: every mosquitto.conf option of Mosquitto 2.0, implemented or refused with a reason.

import type { OptionSpec } from './option-spec.js';
import { bridgeOptions } from './options-bridge.js';
import { clusterOptions } from './options-cluster.js';
import { generalOptions } from './options-general.js';
import { listenerOptions } from './options-listener.js';
import { pluginOption, securityOptions } from './options-security.js';
import { unsupportedOptions } from './options-unsupported.js';

export type { OptionScope, OptionSpec, SupportedOption, UnsupportedOption } from './option-spec.js';

/** All fixed-name options. `plugin_opt_*` and `auth_opt_*` are families, resolved by `lookupOption`. */
export const OPTION_TABLE: ReadonlyMap<string, OptionSpec> = new Map(
  Object.entries({
    ...generalOptions,
    ...securityOptions,
    ...listenerOptions,
    ...bridgeOptions,
    ...clusterOptions,
    ...unsupportedOptions,
  }),
);

const PLUGIN_OPTION_PREFIXES = ['plugin_opt_', 'auth_opt_'] as const;

/** The table entry for an option name as written, or undefined when Mosquitto has no such option. */
export function lookupOption(name: string): OptionSpec | undefined {
  const fixed = OPTION_TABLE.get(name);
  if (fixed !== undefined) return fixed;
  for (const prefix of PLUGIN_OPTION_PREFIXES) {
    if (name.startsWith(prefix)) return pluginOption(prefix, name.slice(prefix.length));
  }
  return undefined;
}

/** Names Culex refuses as not yet supported, with the reason: for documentation and `--help`-style listings. */
export function unsupportedOptionNames(): Array<{ name: string; reason: string }> {
  const out: Array<{ name: string; reason: string }> = [];
  for (const [name, spec] of OPTION_TABLE)
    if (spec.kind === 'unsupported') out.push({ name, reason: spec.reason });
  return out;
}
