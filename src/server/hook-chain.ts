// Combines the plugins of one security scope with its password / ACL files into one set of broker hooks,
// with Mosquitto's rules: sources are asked in order (plugins, then files), the first definite answer wins,
// and when every source abstains the answer is "deny". A scope with no source at all keeps the hook unset.

import type { AccessKind, AuthenticationRequest, BrokerHooks, ClientInfo } from '../broker/hooks.js';
import type { Logger } from '../broker/logger.js';
import type { PluginDecision } from './plugin-api.js';
import type { LoadedPlugin } from './plugin-loader.js';

type AuthSource = (request: AuthenticationRequest) => PluginDecision | Promise<PluginDecision>;
type AclSource = (client: ClientInfo, access: AccessKind, topic: string) => PluginDecision;

/** `auth_plugin_deny_special_chars`: '+' or '#' in a username or client id could widen %u / %c ACL patterns. */
const SPECIAL = /[+#]/;

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function authSource(loaded: LoadedPlugin, logger: Logger): AuthSource | undefined {
  const { plugin, config } = loaded;
  if (plugin.authenticate === undefined) return undefined;
  const fn = plugin.authenticate.bind(plugin);
  return (request) => {
    if (config.denySpecialChars && (SPECIAL.test(request.username ?? '') || SPECIAL.test(request.clientId)))
      return false;
    try {
      return fn(request);
    } catch (err) {
      logger.log('error', `Plugin ${config.path}: authenticate failed: ${describe(err)}`);
      return false;
    }
  };
}

function aclSource(loaded: LoadedPlugin, logger: Logger): AclSource | undefined {
  const { plugin, config } = loaded;
  if (plugin.authorize === undefined) return undefined;
  const fn = plugin.authorize.bind(plugin);
  return (client, access, topic) => {
    if (config.denySpecialChars && (SPECIAL.test(client.username ?? '') || SPECIAL.test(client.clientId)))
      return false;
    try {
      return fn(client, access, topic);
    } catch (err) {
      logger.log('error', `Plugin ${config.path}: authorize failed: ${describe(err)}`);
      return false;
    }
  };
}

function isPromise<T>(value: unknown): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Asks sources from `from` on; stays synchronous until a source answers with a promise. */
function authenticateFrom(
  sources: readonly AuthSource[],
  from: number,
  request: AuthenticationRequest,
): boolean | Promise<boolean> {
  for (let i = from; i < sources.length; i++) {
    const answer = sources[i]!(request);
    if (isPromise<PluginDecision>(answer)) {
      return answer.then((d) => (d === undefined ? authenticateFrom(sources, i + 1, request) : d));
    }
    if (answer !== undefined) return answer;
  }
  return false;
}

export function chainHooks(
  plugins: readonly LoadedPlugin[],
  files: BrokerHooks,
  logger: Logger,
): BrokerHooks {
  const hooks: BrokerHooks = {};
  const auth = plugins.map((p) => authSource(p, logger)).filter((s): s is AuthSource => s !== undefined);
  if (files.authenticate !== undefined) auth.push(files.authenticate);
  if (auth.length > 0) hooks.authenticate = (request) => authenticateFrom(auth, 0, request);

  const acl = plugins.map((p) => aclSource(p, logger)).filter((s): s is AclSource => s !== undefined);
  if (files.authorize !== undefined) acl.push(files.authorize);
  if (acl.length === 1) {
    const only = acl[0]!;
    hooks.authorize = (client, access, topic) => only(client, access, topic) === true;
  } else if (acl.length > 1) {
    hooks.authorize = (client, access, topic) => {
      for (let i = 0; i < acl.length; i++) {
        const answer = acl[i]!(client, access, topic);
        if (answer !== undefined) return answer;
      }
      return false;
    };
  }

  const control = plugins.filter((p) => p.plugin.onControl !== undefined).map((p) => p.plugin);
  if (control.length > 0) {
    hooks.control = (client, topic, payload) => {
      for (const plugin of control) {
        try {
          if (plugin.onControl!(client, topic, payload)) return;
        } catch (err) {
          logger.log('error', `Plugin control handler failed: ${describe(err)}`);
          return;
        }
      }
    };
  }

  const roles = plugins.filter((p) => p.plugin.hasRole !== undefined).map((p) => p.plugin);
  if (roles.length > 0) {
    hooks.hasRole = (username, role) => {
      for (const plugin of roles) {
        try {
          const answer = plugin.hasRole!(username, role);
          if (answer !== undefined) return answer;
        } catch (err) {
          logger.log('error', `Plugin role check failed: ${describe(err)}`);
          return false;
        }
      }
      return false;
    };
  }

  const enhanced = plugins.find((p) => p.plugin.enhancedAuth !== undefined)?.plugin;
  if (enhanced?.enhancedAuth !== undefined) hooks.enhancedAuth = enhanced.enhancedAuth.bind(enhanced);
  else if (files.enhancedAuth !== undefined) hooks.enhancedAuth = files.enhancedAuth;
  return hooks;
}
