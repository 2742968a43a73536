// Authentication options: global, or scoped to the most recent listener under `per_listener_settings true`.

import { OptionValueError } from './config-error.js';
import {
  alwaysEnables,
  type ConfigDraft,
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
