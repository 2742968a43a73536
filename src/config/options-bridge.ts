// Bridge options of mosquitto.conf: a `connection` line opens a section, the options after it configure it.

import { hostname } from 'node:os';
import type {
  BridgeAddress,
  BridgeConfig,
  BridgeDirection,
  BridgeTlsOptions,
  BridgeTopic,
} from '../bridge/bridge-config.js';
import type { QoS } from '../protocol/packets.js';
import { checkFilterSyntax, hasWildcard } from '../protocol/topic.js';
import { ConfigError, ConfigErrorCode, OptionValueError } from './config-error.js';
import type { ConfigDraft } from './draft.js';
import { type OptionSpec, one, type SupportedOption } from './option-spec.js';
import { parseBool, parseEnum, parseInteger } from './values.js';

const INT_MAX = 2 ** 31 - 1;

/** A section being read: the final defaults (client ids, notification topic) depend on later lines. */
export interface BridgeDraft
  extends Omit<BridgeConfig, 'remoteClientId' | 'localClientId' | 'notificationTopic'> {
  remoteClientId?: string;
  localClientId?: string;
  notificationTopic?: string;
  localCleanSessionSet: boolean;
}

function newBridge(name: string, site: { file: string; line: number }): BridgeDraft {
  return {
    name,
    addresses: [],
    roundRobin: false,
    topics: [],
    protocolVersion: 4,
    cleanSession: false,
    localCleanSession: false,
    localCleanSessionSet: false,
    keepaliveInterval: 60,
    idleTimeout: 60,
    restartTimeout: { kind: 'jitter', base: 5, cap: 30 },
    startType: 'automatic',
    threshold: 10,
    notifications: true,
    notificationsLocalOnly: false,
    tryPrivate: true,
    attemptUnsubscribe: true,
    outgoingRetain: true,
    maxPacketSize: 0,
    site,
  };
}

function current(draft: ConfigDraft): BridgeDraft {
  const bridge = draft.bridges.at(-1);
  if (bridge === undefined) throw new OptionValueError('bridge option given before any "connection" line');
  return bridge;
}

function tlsOf(bridge: BridgeDraft): BridgeTlsOptions {
  bridge.tls ??= { insecure: false, useOsCerts: false };
  return bridge.tls;
}

/** A single-word option of the current bridge. */
function bridgeOne(apply: (bridge: BridgeDraft, value: string, draft: ConfigDraft) => void): SupportedOption {
  return one('bridge', (d, v) => apply(current(d), v, d));
}

function bridgeTls(apply: (tls: BridgeTlsOptions, value: string) => void): SupportedOption {
  return one('bridge-tls', (d, v) => apply(tlsOf(current(d)), v));
}

/** `host[:port]`; an IPv6 address needs its port (Mosquitto splits at the last colon). */
function parseAddress(text: string): BridgeAddress {
  const colon = text.lastIndexOf(':');
  if (colon === -1) return { host: text, port: 1883 };
  const host = text.slice(0, colon);
  if (host === '') throw new OptionValueError(`invalid address "${text}"`);
  return { host, port: parseInteger(text.slice(colon + 1), 1, 65535) };
}

/** `""` is Mosquitto's place marker for an empty pattern or prefix. */
function marker(word: string): string {
  return word === '""' ? '' : word;
}

function parsePrefix(word: string | undefined, which: string): string {
  const prefix = marker(word ?? '');
  if (hasWildcard(prefix))
    throw new OptionValueError(`invalid ${which} prefix "${prefix}": no wildcards allowed`);
  return prefix;
}

/** `topic pattern [[[out|in|both] qos] local-prefix remote-prefix]` with Mosquitto's remapping rules. */
function parseTopic(words: readonly string[]): BridgeTopic {
  const pattern = marker(words[0] ?? '');
  const direction: BridgeDirection =
    words[1] === undefined ? 'out' : parseEnum(words[1], ['out', 'in', 'both'] as const);
  const qos = (words[2] === undefined ? 0 : parseInteger(words[2], 0, 2)) as QoS;
  if (words.length === 4) throw new OptionValueError('a local prefix needs a remote prefix after it');
  const localPrefix = parsePrefix(words[3], 'local');
  const remotePrefix = parsePrefix(words[4], 'remote');
  if (pattern === '' && (localPrefix === '' || remotePrefix === '')) {
    throw new OptionValueError('an empty pattern ("") needs both a local and a remote prefix');
  }
  const localTopic = localPrefix + pattern;
  const remoteTopic = remotePrefix + pattern;
  for (const filter of [localTopic, remoteTopic]) {
    if (checkFilterSyntax(filter) !== null) throw new OptionValueError(`invalid bridge topic "${filter}"`);
  }
  return { pattern, direction, qos, localPrefix, remotePrefix, localTopic, remoteTopic };
}

function parseRestartTimeout(words: readonly string[]): BridgeConfig['restartTimeout'] {
  const first = parseInteger(words[0] ?? '', 1, INT_MAX);
  if (words[1] === undefined) return { kind: 'constant', seconds: first };
  const cap = parseInteger(words[1], 1, INT_MAX);
  if (cap < first) throw new OptionValueError(`the cap ${cap} is below the base ${first}`);
  return { kind: 'jitter', base: first, cap };
}

/** Up to five words; more are an error unless they are a comment. */
function topicWords(text: string): string[] {
  const all = text.split(/ +/).filter((w) => w !== '');
  if (all.length > 5 && !all[5]!.startsWith('#')) {
    throw new OptionValueError(`unexpected extra value "${all.slice(5).join(' ')}" (expected at most 5)`);
  }
  return all.slice(0, 5);
}

const PROTOCOLS = { mqttv31: 3, mqttv311: 4, mqttv50: 5 } as const;

const words = (
  min: number,
  max: number,
  apply: (d: ConfigDraft, words: string[]) => void,
): SupportedOption => ({
  kind: 'supported',
  scope: 'bridge',
  args: { min, max },
  apply: (d, call) => apply(d, call.words),
});

export const bridgeOptions: Record<string, OptionSpec> = {
  connection: one('bridge', (d, name) => {
    if (d.bridges.some((b) => b.name === name)) throw new OptionValueError(`duplicate bridge name "${name}"`);
    d.bridges.push(newBridge(name, { file: d.site.file, line: d.site.line }));
  }),
  address: words(1, 64, (d, w) => current(d).addresses.push(...w.map(parseAddress))),
  addresses: words(1, 64, (d, w) => current(d).addresses.push(...w.map(parseAddress))),
  bridge_attempt_unsubscribe: bridgeOne((b, v) => (b.attemptUnsubscribe = parseBool(v))),
  bridge_bind_address: bridgeOne((b, v) => (b.bindAddress = v)),
  bridge_max_packet_size: bridgeOne((b, v) => (b.maxPacketSize = parseInteger(v, 0, 268_435_460))),
  bridge_outgoing_retain: bridgeOne((b, v) => (b.outgoingRetain = parseBool(v))),
  bridge_protocol_version: bridgeOne(
    (b, v) => (b.protocolVersion = PROTOCOLS[parseEnum(v, ['mqttv31', 'mqttv311', 'mqttv50'] as const)]),
  ),
  cleansession: bridgeOne((b, v) => (b.cleanSession = parseBool(v))),
  local_cleansession: bridgeOne((b, v) => {
    b.localCleanSession = parseBool(v);
    b.localCleanSessionSet = true;
  }),
  keepalive_interval: bridgeOne((b, v, d) => {
    const seconds = parseInteger(v, 0, 65535);
    if (seconds < 5) d.warnings.push('Warning: Bridge keepalive value too low, using 5 seconds.');
    b.keepaliveInterval = Math.max(5, seconds);
  }),
  idle_timeout: bridgeOne((b, v) => (b.idleTimeout = parseInteger(v, 1, INT_MAX))),
  local_clientid: bridgeOne((b, v) => (b.localClientId = v)),
  local_password: bridgeOne((b, v) => (b.localPassword = v)),
  local_username: bridgeOne((b, v) => (b.localUsername = v)),
  notifications: bridgeOne((b, v) => (b.notifications = parseBool(v))),
  notifications_local_only: bridgeOne((b, v) => (b.notificationsLocalOnly = parseBool(v))),
  notification_topic: bridgeOne((b, v) => {
    if (hasWildcard(v)) throw new OptionValueError(`invalid notification topic "${v}"`);
    b.notificationTopic = v;
  }),
  remote_clientid: bridgeOne((b, v) => (b.remoteClientId = v)),
  remote_password: bridgeOne((b, v) => (b.remotePassword = v)),
  remote_username: bridgeOne((b, v) => (b.remoteUsername = v)),
  // Older spellings Mosquitto still reads.
  clientid: bridgeOne((b, v) => (b.remoteClientId = v)),
  password: bridgeOne((b, v) => (b.remotePassword = v)),
  username: bridgeOne((b, v) => (b.remoteUsername = v)),
  restart_timeout: words(1, 2, (d, w) => (current(d).restartTimeout = parseRestartTimeout(w))),
  round_robin: bridgeOne((b, v) => (b.roundRobin = parseBool(v))),
  start_type: bridgeOne((b, v) => (b.startType = parseEnum(v, ['automatic', 'lazy', 'once'] as const))),
  threshold: bridgeOne((b, v) => (b.threshold = parseInteger(v, 1, INT_MAX))),
  // `#` is a pattern here, not a trailing comment: the words are taken from the raw text.
  topic: {
    kind: 'supported',
    scope: 'bridge',
    args: 'rest',
    apply: (d, call) => current(d).topics.push(parseTopic(topicWords(call.rest))),
  },
  try_private: bridgeOne((b, v) => (b.tryPrivate = parseBool(v))),
  // Mosquitto 2.1's MQTT 5 bridge options.
  bridge_session_expiry_interval: bridgeOne(
    (b, v) => (b.sessionExpiryInterval = parseInteger(v, 0, 0xffff_ffff)),
  ),
  bridge_receive_maximum: bridgeOne((b, v) => (b.receiveMaximum = parseInteger(v, 1, 65535))),
  bridge_max_topic_alias: bridgeOne((b, v) => (b.maxTopicAlias = parseInteger(v, 0, 65535))),
  bridge_tcp_keepalive: words(3, 3, (d, w) => {
    const [idle, interval, count] = w.map((x) => parseInteger(x, 1, 32767)) as [number, number, number];
    current(d).tcpKeepalive = { idle, interval, count };
  }),
  bridge_alpn: bridgeTls((t, v) => (t.alpn = v)),
  bridge_cafile: bridgeTls((t, v) => (t.cafile = v)),
  bridge_capath: bridgeTls((t, v) => (t.capath = v)),
  bridge_certfile: bridgeTls((t, v) => (t.certfile = v)),
  bridge_keyfile: bridgeTls((t, v) => (t.keyfile = v)),
  bridge_identity: bridgeTls((t, v) => (t.identity = v)),
  bridge_insecure: bridgeTls((t, v) => (t.insecure = parseBool(v))),
  bridge_psk: bridgeTls((t, v) => {
    if (!/^[0-9a-fA-F]+$/.test(v)) throw new OptionValueError('the key must be hexadecimal without "0x"');
    t.psk = v;
  }),
  bridge_tls_version: bridgeTls(
    (t, v) => (t.version = parseEnum(v, ['tlsv1.3', 'tlsv1.2', 'tlsv1.1'] as const)),
  ),
  bridge_tls_use_os_certs: bridgeTls((t, v) => (t.useOsCerts = parseBool(v))),
  bridge_require_ocsp: bridgeTls((_t, v) => {
    // Node's TLS client can ask for a staple but has no OCSP response verifier, so "require" cannot be kept.
    if (parseBool(v))
      throw new OptionValueError(
        'Culex cannot verify OCSP responses on bridge connections (Node has no OCSP verifier)',
      );
  }),
};

/** Fills in the defaults that depend on the whole section and checks what Mosquitto checks at start. */
export function finishBridges(bridges: readonly BridgeDraft[], warnings: string[]): BridgeConfig[] {
  return bridges.map((b) => {
    const fail = (reason: string): never => {
      throw new ConfigError({
        code: ConfigErrorCode.invalidValue,
        file: b.site.file,
        line: b.site.line,
        option: 'connection',
        reason: `bridge "${b.name}": ${reason}`,
      });
    };
    if (b.addresses.length === 0) fail('no "address" given');
    if (b.topics.length === 0) fail('no "topic" given');
    if (b.remotePassword !== undefined && b.remoteUsername === undefined && b.protocolVersion !== 5) {
      fail('"remote_password" needs "remote_username" before MQTT 5 [MQTT-3.1.2-22]');
    }
    const tls = b.tls;
    if (tls !== undefined) {
      const psk = tls.identity !== undefined || tls.psk !== undefined;
      if (psk && (tls.identity === undefined || tls.psk === undefined))
        fail('"bridge_identity" and "bridge_psk" go together');
      if (psk && (tls.cafile !== undefined || tls.capath !== undefined || tls.certfile !== undefined))
        fail('only one of certificate and PSK based encryption can be used on one bridge');
      if ((tls.certfile === undefined) !== (tls.keyfile === undefined))
        fail('"bridge_certfile" and "bridge_keyfile" go together');
    }
    const tlsOn =
      tls !== undefined &&
      (tls.cafile !== undefined || tls.capath !== undefined || tls.useOsCerts || tls.psk !== undefined);
    if (b.tcpKeepalive !== undefined) {
      warnings.push(
        `Warning: bridge "${b.name}": bridge_tcp_keepalive sets only the idle time in Culex; interval and count stay the system's.`,
      );
    }
    const remoteClientId = b.remoteClientId ?? `${hostname()}.${b.name}`;
    const { localCleanSessionSet, tls: _tls, ...rest } = b;
    return {
      ...rest,
      ...(tlsOn ? { tls } : {}),
      localCleanSession: localCleanSessionSet ? b.localCleanSession : b.cleanSession,
      remoteClientId,
      localClientId: b.localClientId ?? `local.${remoteClientId}`,
      notificationTopic: b.notificationTopic ?? `$SYS/broker/connection/${remoteClientId}/state`,
    };
  });
}
