// Listener options: `listener` itself, then options that apply to the most recent listener (or, before the
// first one, to Mosquitto's implicit default listener).

import type { TlsOptions } from '../transport/listener-options.js';
import { ConfigErrorCode, OptionValueError } from './config-error.js';
import {
  addListener,
  alwaysEnables,
  type ConfigDraft,
  currentListener,
  type DefaultListenerEffect,
  enablesUnless,
  inert,
  type ListenerDraft,
  tlsOf,
  touchListener,
} from './draft.js';
import { type OptionSpec, one, type SupportedOption } from './option-spec.js';
import { parseBool, parseEnum, parseInteger, parsePort } from './values.js';

const INT_MAX = 2 ** 31 - 1;

function parseQos(text: string): 0 | 1 | 2 {
  const qos = parseInteger(text, 0, 2);
  return qos === 0 ? 0 : qos === 1 ? 1 : 2;
}

/**
 * An option of the current listener. `enables(value)` says whether, written before any `listener`, it turns on
 * the default listener: Mosquitto 2.0.11 does so when the value differs from the default (verified against the
 * binary); the others are only kept if something else turns it on.
 */
function listenerOption(
  apply: (listener: ListenerDraft, value: string) => void,
  enables: (value: string) => DefaultListenerEffect,
): SupportedOption {
  return one('listener', (draft, value) => {
    const listener = currentListener(draft);
    apply(listener, value);
    touchListener(draft, listener, enables(value));
  });
}

function tlsOption(
  apply: (tls: TlsOptions, value: string) => void,
  enables: (value: string) => DefaultListenerEffect = alwaysEnables,
): SupportedOption {
  const inner = listenerOption((l, v) => apply(tlsOf(l), v), enables);
  return { ...inner, scope: 'tls' };
}

function applyListener(draft: ConfigDraft, words: string[]): void {
  const port = parsePort(words[0] ?? '');
  const where = words[1];
  const listener = addListener(draft, port);
  if (port === 0) {
    if (where === undefined)
      throw new OptionValueError('a listener with port 0 must give a Unix socket path');
    listener.options.unixSocketPath = where;
  } else if (where !== undefined) {
    listener.options.host = where;
  }
}

/** `port` and `bind_address` always configure the default listener, wherever they are written. */
function defaultListenerOption(
  draft: ConfigDraft,
  apply: (listener: ListenerDraft) => void,
  name: string,
): void {
  apply(draft.defaultListener);
  draft.defaultListenerEnabled = true;
  // Mosquitto's words, including its copy-and-paste slip for bind_address.
  draft.warnings.push(
    `The '${name}' option is now deprecated and will be removed in a future version. ${name === 'port' ? "Please use 'listener' instead." : 'The behaviour will default to true.'}`,
  );
}

/** Options that, written before any `listener`, set the default of every listener (the manual calls them global). */
function listenerOrGlobal(
  apply: (listener: ListenerDraft, value: number) => void,
  setGlobal: (draft: ConfigDraft, value: number) => void,
  max: number,
): SupportedOption {
  return one('listener', (draft, text) => {
    const value = parseInteger(text, 0, max);
    if (draft.listeners.length === 0) setGlobal(draft, value);
    else apply(currentListener(draft), value);
  });
}

/** Mosquitto 2.1's REQUIRE_NON_DEFAULT_LISTENER: the option needs a `listener` line before it. */
function afterListener(draft: ConfigDraft): ListenerDraft {
  if (draft.listeners.length === 0)
    throw new OptionValueError('needs a "listener" line before it', ConfigErrorCode.misplacedOption);
  return currentListener(draft);
}

/** `accept_protocol_versions 3,4`: 2.1 splits on commas, spaces and tabs and ignores words other than 3, 4, 5. */
function applyAcceptProtocolVersions(draft: ConfigDraft, rest: string): void {
  const listener = afterListener(draft);
  const words = rest.split(/[, \t]+/).filter((w) => w !== '');
  if (words.length === 0) throw new OptionValueError('needs at least one protocol version (3, 4 or 5)');
  const versions = new Set<3 | 4 | 5>();
  for (const w of words) {
    if (w === '3' || w === '4' || w === '5') versions.add(Number(w) as 3 | 4 | 5);
    // Culex refuses what 2.1 would silently skip: a typo must not leave a listener accepting nothing.
    else throw new OptionValueError(`"${w}" is not a protocol version (3 = MQTT 3.1, 4 = 3.1.1, 5 = 5.0)`);
  }
  listener.options.acceptProtocolVersions = [...versions].sort();
}

export const listenerOptions: Record<string, OptionSpec> = {
  // Mosquitto 2.1 options (docs/compatibility.md, "Mosquitto 2.1").
  accept_protocol_versions: {
    kind: 'supported',
    scope: 'listener',
    args: 'rest',
    apply: (d, call) => applyAcceptProtocolVersions(d, call.rest),
  },
  enable_proxy_protocol: listenerOption((l, v) => {
    const version = parseInteger(v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    if (version !== 1 && version !== 2) throw new OptionValueError('enable_proxy_protocol must be 1 or 2.');
    l.options.proxyProtocol = version;
  }, alwaysEnables),
  proxy_protocol_v2_require_tls: listenerOption(
    (l, v) => (l.options.proxyProtocolV2RequireTls = parseBool(v)),
    enablesUnless('false'),
  ),
  listener_allow_anonymous: listenerOption(
    (l, v) => (l.options.allowAnonymous = parseBool(v)),
    alwaysEnables,
  ),
  listener_auto_id_prefix: listenerOption((l, v) => {
    if (v.length > 50) throw new OptionValueError("'listener_auto_id_prefix' length must be <= 50.");
    l.options.autoIdPrefix = v;
  }, alwaysEnables),
  websockets_origin: listenerOption((l, v) => {
    l.options.websocketsOrigins = [...(l.options.websocketsOrigins ?? []), v];
  }, alwaysEnables),

  listener: {
    kind: 'supported',
    scope: 'listener',
    args: { min: 1, max: 2 },
    apply: (d, call) => applyListener(d, call.words),
  },
  port: one('listener', (d, v) => {
    const port = parseInteger(v, 1, 65535);
    defaultListenerOption(d, (l) => (l.options.port = port), 'port');
  }),
  bind_address: one('listener', (d, v) =>
    defaultListenerOption(d, (l) => (l.options.host = v), 'bind_address'),
  ),
  bind_interface: listenerOption((l, v) => (l.options.bindInterface = v), inert),
  http_dir: listenerOption((l, v) => (l.options.httpDir = v), inert),
  // Culex-only, for a protocol http_api listener (docs/http-api.md).
  http_api_token_file: listenerOption((l, v) => (l.options.httpApiTokenFile = v), inert),
  http_api_admin_role: listenerOption((l, v) => (l.options.httpApiAdminRole = v), inert),
  http_api_metrics_auth: listenerOption((l, v) => (l.options.httpApiMetricsAuth = parseBool(v)), inert),
  max_connections: listenerOption(
    (l, v) => (l.options.maxConnections = parseInteger(v, -1, INT_MAX)),
    enablesUnless('-1'),
  ),
  max_qos: listenerOption((l, v) => (l.options.maxQos = parseQos(v)), enablesUnless('2')),
  // Mosquitto 2.0's other spelling of max_qos.
  maximum_qos: listenerOption((l, v) => (l.options.maxQos = parseQos(v)), enablesUnless('2')),
  max_topic_alias: listenerOrGlobal(
    (l, v) => (l.options.maxTopicAlias = v),
    (d, v) => (d.broker.maxTopicAlias = v),
    65535,
  ),
  // Mosquitto 2.1 (0..65535, 2.1's default 10); absent, Culex keeps its own behaviour: no cap below the client's.
  max_topic_alias_broker: listenerOrGlobal(
    (l, v) => (l.options.maxTopicAliasBroker = v),
    (d, v) => (d.maxTopicAliasBroker = v),
    65535,
  ),
  mount_point: one('listener', (draft, value) => {
    // Mosquitto refuses a mount point for the implicit listener.
    if (draft.listeners.length === 0)
      throw new OptionValueError('needs a "listener" line before it', ConfigErrorCode.misplacedOption);
    const listener = currentListener(draft);
    listener.options.mountPoint = value;
  }),
  protocol: listenerOption(
    (l, v) => (l.options.protocol = parseEnum(v, ['mqtt', 'websockets', 'http_api'] as const)),
    enablesUnless('mqtt'),
  ),
  socket_domain: listenerOption(
    (l, v) => (l.options.socketDomain = parseEnum(v, ['ipv4', 'ipv6'] as const)),
    alwaysEnables,
  ),
  use_username_as_clientid: listenerOption(
    (l, v) => (l.options.useUsernameAsClientId = parseBool(v)),
    enablesUnless('false'),
  ),
  websockets_headers_size: listenerOrGlobal(
    (l, v) => (l.options.websocketsHeadersSize = v),
    (d, v) => (d.websocketsHeadersSize = v),
    65535,
  ),

  cafile: tlsOption((t, v) => (t.cafile = v)),
  capath: tlsOption((t, v) => (t.capath = v)),
  certfile: tlsOption((t, v) => (t.certfile = v)),
  keyfile: tlsOption((t, v) => (t.keyfile = v)),
  ciphers: tlsOption((t, v) => (t.ciphers = v)),
  'ciphers_tls1.3': tlsOption((t, v) => (t.ciphersTls13 = v)),
  crlfile: tlsOption((t, v) => (t.crlfile = v)),
  dhparamfile: tlsOption((t, v) => (t.dhparamfile = v)),
  psk_hint: { ...tlsOption((t, v) => (t.pskHint = v)), scope: 'psk' },
  require_certificate: tlsOption((t, v) => (t.requireCertificate = parseBool(v)), enablesUnless('false')),
  use_identity_as_username: tlsOption(
    (t, v) => (t.useIdentityAsUsername = parseBool(v)),
    enablesUnless('false'),
  ),
  use_subject_as_username: tlsOption(
    (t, v) => (t.useSubjectAsUsername = parseBool(v)),
    enablesUnless('false'),
  ),
  // Mosquitto accepts any text here; Culex only the three versions the manual names.
  tls_version: tlsOption(
    (t, v) => (t.tlsVersion = parseEnum(v, ['tlsv1.3', 'tlsv1.2', 'tlsv1.1'] as const)),
    inert,
  ),
  // "pem" is the only key form Node's TLS loads from files; "engine" needs an OpenSSL engine.
  tls_keyform: tlsOption((_t, v) => {
    if (parseEnum(v, ['pem', 'engine'] as const) === 'engine') {
      throw new OptionValueError(
        '"engine" keys need an OpenSSL engine, which Culex does not support; use "pem"',
      );
    }
  }, inert),
};
