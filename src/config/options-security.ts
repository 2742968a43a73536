// Authentication options: global, or scoped to the most recent listener under `per_listener_settings true`.

import type { PluginConfig } from './config.js';
import { ConfigErrorCode, OptionValueError } from './config-error.js';
import {
  alwaysEnables,
  type ConfigDraft,
  currentListener,
  type DefaultListenerEffect,
  enablesUnless,
  inert,
  latestPlugin,
  type SecurityTarget,
  securityTarget,
  touchListener,
} from './draft.js';
import { type OptionSpec, one, rest, type SupportedOption } from './option-spec.js';
import { parseBool } from './values.js';

/**
 * A security option. `enables(value)` tells whether, written before any `listener` under per_listener_settings,
 * it turns Mosquitto's default listener on (Mosquitto 2.0.11 does so for password_file, psk_file and
 * allow_zero_length_clientid false; the others are lost unless the default listener is on).
 */
function security(
  apply: (target: SecurityTarget, value: string) => void,
  enables: (value: string) => DefaultListenerEffect,
): SupportedOption {
  return one('security', (draft, value) => {
    const target = securityTarget(draft);
    apply(target, value);
    if (target.listener !== undefined) touchListener(draft, target.listener, enables(value));
  });
}

function addPlugin(draft: ConfigDraft, path: string): void {
  const target = securityTarget(draft);
  target.plugins.push({ path, options: {}, denySpecialChars: true });
  if (target.listener !== undefined) touchListener(draft, target.listener, 'inert');
  delete draft.pluginForOptions;
}

/** Mosquitto 2.1 `global_plugin PATH`: a plugin for every listener, even under per_listener_settings true. */
function addGlobalPlugin(draft: ConfigDraft, path: string): void {
  draft.securityOptionSeen = true;
  const plugin: PluginConfig = { path, options: {}, denySpecialChars: true };
  draft.plugins.push(plugin);
  draft.pluginForOptions = plugin;
}

/** Mosquitto 2.1 `plugin_load NAME PATH`: loads nothing by itself; `plugin_use NAME` puts it on a listener. */
function loadNamedPlugin(draft: ConfigDraft, words: string[]): void {
  const [name, path] = words;
  if (name === undefined || path === undefined) throw new OptionValueError('needs a plugin name and a path');
  if (draft.namedPlugins.has(name)) throw new OptionValueError(`a plugin named "${name}" is already loaded`);
  const plugin: PluginConfig = { path, options: {}, denySpecialChars: true };
  draft.namedPlugins.set(name, plugin);
  draft.pluginForOptions = plugin;
}

/**
 * Mosquitto 2.1 `plugin_use NAME`: the named plugin checks clients of the current listener. Culex gives each
 * listener its own instance configured alike (docs/compatibility.md), and needs per_listener_settings true: a
 * plugin that should guard one listener must not end up guarding all of them.
 */
function usePlugin(draft: ConfigDraft, name: string): void {
  if (draft.listeners.length === 0)
    throw new OptionValueError('needs a "listener" line before it', ConfigErrorCode.misplacedOption);
  const plugin = draft.namedPlugins.get(name);
  if (plugin === undefined) throw new OptionValueError(`Plugin '${name}' not previously loaded.`);
  if (!draft.perListenerSettings) {
    throw new OptionValueError(
      'is only supported by Culex with "per_listener_settings true" (use global_plugin for every listener)',
      ConfigErrorCode.unsupportedOption,
    );
  }
  const listener = currentListener(draft);
  draft.securityOptionSeen = true;
  // The same options object: plugin_opt_* lines after plugin_load apply to every use.
  const use: PluginConfig = { ...plugin, options: plugin.options };
  listener.plugins.push(use);
  draft.pluginForOptions = plugin;
}

export const securityOptions: Record<string, OptionSpec> = {
  acl_file: security((t, v) => (t.security.aclFile = v), inert),
  allow_anonymous: security((t, v) => {
    t.security.allowAnonymous = parseBool(v);
    t.markAllowAnonymous();
  }, inert),
  allow_zero_length_clientid: security(
    (t, v) => (t.security.allowZeroLengthClientId = parseBool(v)),
    enablesUnless('true'),
  ),
  auto_id_prefix: security((t, v) => (t.security.autoIdPrefix = v), inert),
  password_file: security((t, v) => (t.security.passwordFile = v), alwaysEnables),
  psk_file: security((t, v) => (t.security.pskFile = v), alwaysEnables),
  per_listener_settings: one('security', (draft, value) => {
    const enabled = parseBool(value);
    // Mosquitto's rule: switching scope after security options were placed would misfile them.
    if (draft.securityOptionSeen) {
      throw new OptionValueError(
        'must be set before any other security option (acl_file, allow_anonymous, …)',
      );
    }
    draft.perListenerSettings = enabled;
  }),
  // Plugins are recorded with their options; which paths Culex can load is the auth layer's decision.
  plugin: one('plugin', addPlugin),
  global_plugin: one('plugin', addGlobalPlugin),
  plugin_load: {
    kind: 'supported',
    scope: 'plugin',
    args: { min: 2, max: 2 },
    apply: (d, c) => loadNamedPlugin(d, c.words),
  },
  plugin_use: one('plugin', usePlugin),
  auth_plugin: one('plugin', addPlugin),
  auth_plugin_deny_special_chars: one('plugin', (draft, value) => {
    latestPlugin(draft).denySpecialChars = parseBool(value);
  }),
};

/** `plugin_opt_NAME value` / `auth_opt_NAME value`: an option of the latest plugin of the current scope. */
export function pluginOption(prefix: string, name: string): SupportedOption {
  return rest('plugin', (draft, value) => {
    if (name === '') throw new OptionValueError(`"${prefix}" must be followed by the plugin option name`);
    latestPlugin(draft).options[name] = value;
  });
}
