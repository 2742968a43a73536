// Turns the draft into a CulexConfig by applying Mosquitto 2.0's listener rules: the implicit default
// listener, "local only mode" when no listener is configured, and allow_anonymous defaulting to false otherwise.

import type { SecurityOptions } from '../broker/options.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import {
  BROKER_CONTROL_PLUGIN,
  type BrokerControlInfo,
  type CulexConfig,
  type PluginConfig,
} from './config.js';
import { ConfigError, ConfigErrorCode } from './config-error.js';
import { DEFAULT_PORT, localOnlyListeners } from './defaults.js';
import type { ConfigDraft, ListenerDraft } from './draft.js';
import { finishBridges } from './options-bridge.js';
import { finishCluster } from './options-cluster.js';

export function finalizeConfig(draft: ConfigDraft, files: string[]): CulexConfig {
  refuseLostDefaultListenerSettings(draft);
  const drafts = draft.defaultListenerEnabled ? [draft.defaultListener, ...draft.listeners] : draft.listeners;
  const localOnly = drafts.length === 0;
  const broker = { ...draft.broker };
  const warnings = [...draft.warnings];
  if (localOnly) {
    // Mosquitto 2.0 lets anonymous clients in on its loopback-only listeners whatever the file says.
    if (draft.allowAnonymousSet && !broker.allowAnonymous) {
      warnings.push(
        'No listener is configured: local only mode allows anonymous clients despite "allow_anonymous false".',
      );
    }
    broker.allowAnonymous = true;
  } else if (!draft.allowAnonymousSet) {
    broker.allowAnonymous = false;
  }
  const listeners = localOnly
    ? localOnlyListeners([DEFAULT_PORT], draft.perListenerSettings).map((l) => ({
        ...l,
        setTcpNodelay: draft.setTcpNodelay,
      }))
    : drafts.map((l) => finishListener(draft, l, warnings));
  const plugins: PluginConfig[] = [...draft.plugins];
  drafts.forEach((l, index) => {
    for (const p of l.plugins) plugins.push({ ...p, listenerIndex: index });
  });
  if (draft.enableControlApi) plugins.unshift(brokerControlPlugin(listeners, plugins));
  const config: CulexConfig = {
    broker,
    listeners,
    localOnly,
    log: draft.log,
    persistence: draft.persistence,
    perListenerSettings: draft.perListenerSettings,
    sysInterval: draft.sysInterval,
    setTcpNodelay: draft.setTcpNodelay,
    plugins,
    bridges: finishBridges(draft.bridges, warnings),
    files,
    warnings,
    workers: draft.workers,
  };
  if (draft.workersSite !== undefined)
    config.workersSite = { file: draft.workersSite.file, line: draft.workersSite.line };
  const cluster = finishCluster(draft.cluster);
  if (cluster !== undefined) config.cluster = cluster;
  if (draft.pidFile !== undefined) config.pidFile = draft.pidFile;
  if (draft.user !== undefined) config.user = draft.user;
  return config;
}

/** The built-in `$CONTROL/broker/v1` endpoint of Mosquitto 2.1, configured with what it reports. */
function brokerControlPlugin(
  listeners: readonly ListenerOptions[],
  plugins: readonly PluginConfig[],
): PluginConfig {
  const info: BrokerControlInfo = {
    listeners: listeners.map((l) => {
      const entry: BrokerControlInfo['listeners'][number] = {
        port: l.port,
        protocol: l.protocol,
        tls: l.tls !== undefined,
      };
      if (l.host !== undefined) entry.host = l.host;
      if (l.unixSocketPath !== undefined) entry.unixSocketPath = l.unixSocketPath;
      return entry;
    }),
    plugins: plugins.map((p) => {
      const port = p.listenerIndex === undefined ? undefined : listeners[p.listenerIndex]?.port;
      return port === undefined
        ? { path: p.path, options: p.options }
        : { path: p.path, options: p.options, port };
    }),
  };
  return { path: BROKER_CONTROL_PLUGIN, options: {}, denySpecialChars: true, controlApi: info };
}

/** Mosquitto drops these silently when the default listener stays off; Culex names the first one instead. */
function refuseLostDefaultListenerSettings(draft: ConfigDraft): void {
  const lost = draft.defaultListener.inertSettings[0];
  if (draft.defaultListenerEnabled || lost === undefined) return;
  throw new ConfigError({
    code: ConfigErrorCode.misplacedOption,
    file: lost.file,
    line: lost.line,
    option: lost.option,
    reason:
      'written before any "listener" line it configures the default listener, which this file never enables ' +
      '(Mosquitto would ignore it): move it after the "listener" line it belongs to',
  });
}

function finishListener(draft: ConfigDraft, l: ListenerDraft, warnings: string[]): ListenerOptions {
  const options: ListenerOptions = { ...l.options, setTcpNodelay: draft.setTcpNodelay };
  if (options.websocketsHeadersSize === undefined && draft.websocketsHeadersSize !== undefined) {
    options.websocketsHeadersSize = draft.websocketsHeadersSize;
  }
  if (options.maxTopicAliasBroker === undefined && draft.maxTopicAliasBroker !== undefined) {
    options.maxTopicAliasBroker = draft.maxTopicAliasBroker;
  }
  if (draft.perListenerSettings) options.security = listenerSecurity(l);
  checkTls(options, l, warnings);
  checkProxy(options, l);
  return options;
}

/**
 * Culex reads the PROXY header on plain MQTT listeners only: TLS is then terminated by the proxy (which reports
 * it in the v2 header). A PROXY header in front of a TLS handshake or a WebSocket upgrade is not supported yet.
 */
function checkProxy(options: ListenerOptions, l: ListenerDraft): void {
  if (options.proxyProtocol === undefined) return;
  const what =
    options.protocol === 'websockets' ? 'WebSocket' : options.tls !== undefined ? 'TLS' : undefined;
  if (what === undefined) return;
  throw new ConfigError({
    code: ConfigErrorCode.unsupportedOption,
    file: l.site.file,
    line: l.site.line,
    option: 'enable_proxy_protocol',
    reason: `is not supported yet by Culex on a ${what} listener: terminate TLS at the proxy and use a plain MQTT listener`,
  });
}

function listenerSecurity(l: ListenerDraft): SecurityOptions {
  const security = { ...l.security, allowAnonymous: l.allowAnonymousSet ? l.security.allowAnonymous : false };
  // Mosquitto 2.1's listener_* forms win over the per-listener allow_anonymous / auto_id_prefix.
  if (l.options.allowAnonymous !== undefined) security.allowAnonymous = l.options.allowAnonymous;
  if (l.options.autoIdPrefix !== undefined) security.autoIdPrefix = l.options.autoIdPrefix;
  return security;
}

/** TLS is on with certfile + keyfile (certificates) or psk_hint (pre-shared keys); half a setup is an error. */
function checkTls(options: ListenerOptions, l: ListenerDraft, warnings: string[]): void {
  const tls = options.tls;
  if (tls === undefined) return;
  const hasCert = tls.certfile !== undefined;
  const hasKey = tls.keyfile !== undefined;
  if (hasCert !== hasKey) {
    throw new ConfigError({
      code: ConfigErrorCode.invalidValue,
      file: l.site.file,
      line: l.site.line,
      option: l.site.option,
      reason: `certificate TLS needs both "certfile" and "keyfile" (only "${hasCert ? 'certfile' : 'keyfile'}" given)`,
    });
  }
  if (!hasCert && tls.pskHint === undefined && options.proxyProtocol !== undefined) {
    // Behind a PROXY v2 proxy that terminates TLS, these two judge what the proxy reports (2.1's proxy_v2.c).
    options.proxyClientCertificate = {
      require: tls.requireCertificate,
      identityAsUsername: tls.useIdentityAsUsername,
    };
    delete options.tls;
    return;
  }
  if (!hasCert && tls.pskHint === undefined) {
    warnings.push(
      `Listener on ${describe(options)}: TLS options have no effect without "certfile"/"keyfile" or "psk_hint"; it serves plain MQTT.`,
    );
    delete options.tls;
  }
}

function describe(options: ListenerOptions): string {
  return options.unixSocketPath ?? `port ${options.port}`;
}
