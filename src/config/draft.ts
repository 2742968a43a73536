// The mutable state built while reading config lines, before the Mosquitto 2.0 listener rules are applied.

import type { BrokerOptions, SecurityOptions } from '../broker/options.js';
import { defaultBrokerOptions } from '../broker/options.js';
import type { ListenerOptions, TlsOptions } from '../transport/listener-options.js';
import type { LogOptions, PersistenceOptions, PluginConfig } from './config.js';
import { OptionValueError } from './config-error.js';
import {
  DEFAULT_PORT,
  defaultListener,
  defaultListenerSecurity,
  defaultLogOptions,
  defaultPersistenceOptions,
} from './defaults.js';
import type { BridgeDraft } from './options-bridge.js';
import type { ClusterDraft } from './options-cluster.js';

/** Where an option was written, to blame it later (e.g. a setting lost on a default listener never enabled). */
export interface OptionSite {
  file: string;
  line: number;
  option: string;
}

export interface ListenerDraft {
  options: ListenerOptions;
  /** Security of this listener (used only with per_listener_settings true). */
  security: SecurityOptions;
  allowAnonymousSet: boolean;
  plugins: PluginConfig[];
  /** Set for the implicit default listener: options given to it that do not by themselves enable it. */
  inertSettings: OptionSite[];
  /** The `listener` line (for the default listener: the main file, line 0). */
  site: OptionSite;
}

export interface ConfigDraft {
  broker: BrokerOptions;
  allowAnonymousSet: boolean;
  /** Mosquitto's implicit listener: `port`, `bind_address` and listener options written before any `listener`. */
  defaultListener: ListenerDraft;
  defaultListenerEnabled: boolean;
  listeners: ListenerDraft[];
  perListenerSettings: boolean;
  /** A security option was seen: per_listener_settings may no longer change. */
  securityOptionSeen: boolean;
  log: LogOptions;
  logDestSet: boolean;
  logTypeSet: boolean;
  persistence: PersistenceOptions;
  plugins: PluginConfig[];
  pidFile?: string;
  user?: string;
  sysInterval: number;
  setTcpNodelay: boolean;
  /** `websockets_headers_size` written before any listener: the default for all (the manual calls it global). */
  websocketsHeadersSize?: number;
  /** `max_topic_alias_broker` written before any listener: the default for all. */
  maxTopicAliasBroker?: number;
  warnings: string[];
  /** `connection` sections in file order; bridge options apply to the last one. */
  bridges: BridgeDraft[];
  /** Culex-only `cluster_*` lines (options-cluster.ts); undefined when the file has none. */
  cluster?: ClusterDraft;
  /** Mosquitto 2.1 `enable_control_api`. */
  enableControlApi: boolean;
  /** Mosquitto 2.1 `plugin_load NAME PATH`: plugins loaded by name, for `plugin_use NAME` on listeners. */
  namedPlugins: Map<string, PluginConfig>;
  /** Set by the 2.1 forms (global_plugin, plugin_load, plugin_use): the plugin later `plugin_opt_*` lines configure. */
  pluginForOptions?: PluginConfig;
  /** Culex `workers`: processes sharing the listeners (1 = today's single process). */
  workers: number;
  workersSite?: OptionSite;
  /** Where the line being applied comes from (updated by the parser before each option). */
  site: OptionSite;
}

function newListenerDraft(port: number, site: OptionSite): ListenerDraft {
  return {
    site,
    options: defaultListener(port),
    security: defaultListenerSecurity(),
    allowAnonymousSet: false,
    plugins: [],
    inertSettings: [],
  };
}

export function newDraft(): ConfigDraft {
  return {
    broker: { ...defaultBrokerOptions },
    allowAnonymousSet: false,
    defaultListener: newListenerDraft(DEFAULT_PORT, { file: '', line: 0, option: 'port' }),
    defaultListenerEnabled: false,
    listeners: [],
    perListenerSettings: false,
    securityOptionSeen: false,
    log: defaultLogOptions(),
    logDestSet: false,
    logTypeSet: false,
    persistence: defaultPersistenceOptions(),
    plugins: [],
    sysInterval: 10,
    setTcpNodelay: true,
    warnings: [],
    bridges: [],
    namedPlugins: new Map(),
    enableControlApi: false,
    workers: 1,
    site: { file: '', line: 0, option: '' },
  };
}

export function addListener(draft: ConfigDraft, port: number): ListenerDraft {
  const listener = newListenerDraft(port, { ...draft.site });
  draft.listeners.push(listener);
  return listener;
}

/** Listener options apply to the most recent `listener`, or to the default listener before the first one. */
export function currentListener(draft: ConfigDraft): ListenerDraft {
  return draft.listeners.at(-1) ?? draft.defaultListener;
}

/**
 * Listener options given before any `listener` line configure the default listener. Some of them enable it
 * (Mosquitto 2.0 checks whether they differ from their defaults); the rest are remembered so that a setting
 * that would be lost is reported instead of silently dropped.
 */
export function touchListener(
  draft: ConfigDraft,
  target: ListenerDraft,
  effect: DefaultListenerEffect,
): void {
  if (target !== draft.defaultListener) return;
  if (effect === 'enables') draft.defaultListenerEnabled = true;
  else if (effect === 'inert') target.inertSettings.push({ ...draft.site });
}

/**
 * What a listener option written before any `listener` does to the default listener: turn it on, configure it
 * without turning it on (lost unless something else does), or nothing (the value is the default anyway).
 */
export type DefaultListenerEffect = 'enables' | 'inert' | 'none';

/** Mosquitto 2.0.11 turns the default listener on when such an option differs from its default. */
export function enablesUnless(defaultValue: string): (value: string) => DefaultListenerEffect {
  return (value) => (value === defaultValue ? 'none' : 'enables');
}
export const alwaysEnables = (): DefaultListenerEffect => 'enables';
export const inert = (): DefaultListenerEffect => 'inert';

/** Target of a security option: the global one, or the current listener's under per_listener_settings. */
export interface SecurityTarget {
  security: SecurityOptions;
  markAllowAnonymous(): void;
  plugins: PluginConfig[];
  listener?: ListenerDraft;
}

export function securityTarget(draft: ConfigDraft): SecurityTarget {
  draft.securityOptionSeen = true;
  if (!draft.perListenerSettings) {
    return {
      security: draft.broker,
      plugins: draft.plugins,
      markAllowAnonymous: () => (draft.allowAnonymousSet = true),
    };
  }
  const listener = currentListener(draft);
  return {
    security: listener.security,
    plugins: listener.plugins,
    listener,
    markAllowAnonymous: () => (listener.allowAnonymousSet = true),
  };
}

export function tlsOf(listener: ListenerDraft): TlsOptions {
  listener.options.tls ??= {
    requireCertificate: false,
    useIdentityAsUsername: false,
    useSubjectAsUsername: false,
  };
  return listener.options.tls;
}

/** The plugin the `*_opt_*` options refer to: the latest one in the current security scope. */
export function latestPlugin(draft: ConfigDraft): PluginConfig {
  const plugin = draft.pluginForOptions ?? securityTarget(draft).plugins.at(-1);
  if (plugin === undefined)
    throw new OptionValueError('no "plugin" or "auth_plugin" line precedes this option');
  return plugin;
}
