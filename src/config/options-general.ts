// General (broker-wide) options of mosquitto.conf: limits, logging, persistence, process settings.

import { availableParallelism } from 'node:os';
import type { LogLevel } from '../broker/logger.js';
import type { LogDestKind } from './config.js';
import { OptionValueError } from './config-error.js';
import type { ConfigDraft } from './draft.js';
import { type OptionSpec, one, rest } from './option-spec.js';
import { parseBool, parseDuration, parseEnum, parseInteger } from './values.js';

const INT_MAX = 2 ** 31 - 1;
/** Largest MQTT packet: 268,435,455 bytes of remaining length plus a 5-byte fixed header. */
const MAX_MQTT_PACKET = 268_435_460;
const MAX_MQTT_PAYLOAD = 268_435_455;

const LOG_DESTS = ['stderr', 'stdout', 'file', 'syslog', 'topic', 'none', 'dlt'] as const;
const LOG_TYPES = [
  'debug',
  'error',
  'warning',
  'notice',
  'information',
  'subscribe',
  'unsubscribe',
  'websockets',
  'none',
  'all',
] as const;

function applyLogDest(draft: ConfigDraft, words: string[], restText: string): void {
  const kind = parseEnum(words[0] ?? '', LOG_DESTS);
  if (kind === 'dlt')
    throw new OptionValueError('the "dlt" destination (automotive DLT) is not supported by Culex');
  // The first log_dest replaces the default (stderr); later ones add to it.
  if (!draft.logDestSet) draft.log.dest = [];
  draft.logDestSet = true;
  if (kind === 'none') {
    draft.log.dest = [{ kind: 'none' }];
    return;
  }
  draft.log.dest = draft.log.dest.filter((d) => d.kind !== 'none');
  if (kind === 'file') {
    const path = restText.slice('file'.length).trim();
    if (path === '') throw new OptionValueError('"log_dest file" needs the path of the log file');
    if (draft.log.dest.some((d) => d.kind === 'file'))
      throw new OptionValueError('only one "log_dest file" may be given');
    draft.log.dest.push({ kind, path });
    return;
  }
  if (draft.log.dest.some((d) => d.kind === kind)) return;
  draft.log.dest.push({ kind: kind satisfies LogDestKind });
}

function applyLogType(draft: ConfigDraft, value: string): void {
  const type = parseEnum(value, LOG_TYPES);
  // The first log_type replaces the default set; `none` clears what came before.
  if (!draft.logTypeSet || type === 'none') draft.log.types.clear();
  draft.logTypeSet = true;
  if (type !== 'none') draft.log.types.delete('none');
  draft.log.types.add(type satisfies LogLevel | 'all' | 'none');
}

export const generalOptions: Record<string, OptionSpec> = {
  // Read and ignored, as by Mosquitto 2.0: duplicates are always allowed (docs/compatibility.md).
  allow_duplicate_messages: one('general', (d, v) => {
    d.warnings.push(
      "The 'allow_duplicate_messages' option is now deprecated and will be removed in a future version. The behaviour will default to true.",
    );
    parseBool(v);
  }),
  autosave_interval: one('general', (d, v) => (d.persistence.autosaveInterval = parseInteger(v, 0, INT_MAX))),
  autosave_on_changes: one('general', (d, v) => (d.persistence.autosaveOnChanges = parseBool(v))),
  // Culex-only (docs/compatibility.md): slows password guessing; milliseconds, 0 = off as in Mosquitto.
  auth_failure_delay: one('general', (d, v) => (d.broker.authFailureDelay = parseInteger(v, 0, 60_000))),
  auth_failure_delay_max: one(
    'general',
    (d, v) => (d.broker.authFailureDelayMax = parseInteger(v, 0, 600_000)),
  ),
  check_retain_source: one('general', (d, v) => (d.broker.checkRetainSource = parseBool(v))),
  // Mosquitto 2.1: turns on the built-in $CONTROL/broker/v1 endpoint (src/control/broker-control.ts).
  enable_control_api: one('general', (d, v) => (d.enableControlApi = parseBool(v))),
  // Mosquitto 2.1: -1 (or any value below 1) = unlimited, as 2.1's "> 0" checks read it.
  global_max_clients: one('general', (d, v) => (d.broker.globalMaxClients = parseInteger(v, -1, INT_MAX))),
  global_max_connections: one(
    'general',
    (d, v) => (d.broker.globalMaxConnections = parseInteger(v, -1, INT_MAX)),
  ),
  clientid_prefixes: one('general', (d, v) => (d.broker.clientIdPrefixes = v)),
  connection_messages: one('general', (d, v) => (d.broker.connectionMessages = parseBool(v))),
  // Read by the parser itself (it needs the file system); listed so the table stays complete.
  include_dir: one('general', () => {}),
  log_dest: {
    kind: 'supported',
    scope: 'general',
    args: 'rest',
    apply: (d, call) => applyLogDest(d, call.rest.split(/ +/), call.rest),
  },
  log_facility: one('general', (d, v) => (d.log.syslogFacility = parseInteger(v, 0, 7))),
  log_timestamp: one('general', (d, v) => (d.log.timestamp = parseBool(v))),
  log_timestamp_format: rest('general', (d, v) => (d.log.timestampFormat = v)),
  log_type: one('general', applyLogType),
  max_inflight_bytes: one('general', (d, v) => (d.broker.maxInflightBytes = parseInteger(v, 0, INT_MAX))),
  max_inflight_messages: one('general', (d, v) => (d.broker.maxInflightMessages = parseInteger(v, 0, 65535))),
  // Mosquitto refuses keepalives under 10 s: shorter ones make every client ping constantly.
  max_keepalive: one('general', (d, v) => (d.broker.maxKeepalive = parseInteger(v, 10, 65535))),
  // Under 20 bytes even an empty PUBLISH would not fit (Mosquitto's floor).
  max_packet_size: one('general', (d, v) => (d.broker.maxPacketSize = parseInteger(v, 20, MAX_MQTT_PACKET))),
  max_queued_bytes: one('general', (d, v) => (d.broker.maxQueuedBytes = parseInteger(v, 0, INT_MAX))),
  max_queued_messages: one('general', (d, v) => (d.broker.maxQueuedMessages = parseInteger(v, 0, INT_MAX))),
  // Enforced on sampled heap + Buffer use rather than malloc'd bytes (memory-limit.ts, docs/compatibility.md).
  memory_limit: one(
    'general',
    (d, v) => (d.broker.memoryLimit = parseInteger(v, 0, Number.MAX_SAFE_INTEGER)),
  ),
  message_size_limit: one(
    'general',
    (d, v) => (d.broker.messageSizeLimit = parseInteger(v, 0, MAX_MQTT_PAYLOAD)),
  ),
  persistence: one('general', (d, v) => (d.persistence.enabled = parseBool(v))),
  // Mosquitto 2.0 still reads the 1.x name of `persistence`.
  retained_persistence: one('general', (d, v) => (d.persistence.enabled = parseBool(v))),
  persistence_file: one('general', (d, v) => (d.persistence.file = v)),
  persistence_location: one('general', (d, v) => (d.persistence.location = v)),
  // Culex only: how hard each group commit is pushed to disk (see docs/persistence.md).
  persistence_sync: one(
    'general',
    (d, v) => (d.persistence.sync = parseEnum(v, ['full', 'normal'] as const)),
  ),
  persistent_client_expiration: one(
    'general',
    (d, v) => (d.broker.persistentClientExpiration = parseDuration(v)),
  ),
  pid_file: one('general', (d, v) => (d.pidFile = v)),
  queue_qos0_messages: one('general', (d, v) => (d.broker.queueQos0Messages = parseBool(v))),
  retain_available: one('general', (d, v) => (d.broker.retainAvailable = parseBool(v))),
  // Culex only: never hand a persistent session to another username (see docs/compatibility.md).
  session_owner_check: one('general', (d, v) => (d.broker.sessionOwnerCheck = parseBool(v))),
  // Gone since Mosquitto 2.0, which accepts the line (with any value, or none) and warns.
  retry_interval: {
    kind: 'supported',
    scope: 'general',
    args: { min: 0, max: Number.POSITIVE_INFINITY },
    apply: (d) => d.warnings.push('Warning: The retry_interval option is no longer available.'),
  },
  set_tcp_nodelay: one('general', (d, v) => (d.setTcpNodelay = parseBool(v))),
  sys_interval: one('general', (d, v) => (d.sysInterval = parseInteger(v, 0, INT_MAX))),
  upgrade_outgoing_qos: one('general', (d, v) => (d.broker.upgradeOutgoingQos = parseBool(v))),
  // Started as root, the broker switches to this account (src/cli/drop-privileges.ts).
  user: one('general', (d, v) => (d.user = v)),
  // A libwebsockets log mask: checked as Mosquitto checks it; Culex logs WebSocket events at `websockets`.
  websockets_log_level: one('general', (_d, v) => void parseInteger(v, 0, INT_MAX)),
  // Culex only: worker processes sharing the listeners, each a cluster node (src/cli/workers.ts, docs/cluster.md).
  workers: one('general', (d, v) => {
    d.workers = parseWorkers(v);
    d.workersSite = { ...d.site };
  }),
};

/** Most worker processes one `culex` starts (each is a whole broker: memory, a Redis connection or three). */
export const MAX_WORKERS = 256;

/** `workers N` / `--workers N`: 1 to MAX_WORKERS, or `auto` (one per core the process may use). */
export function parseWorkers(text: string): number {
  if (text === 'auto') return Math.min(availableParallelism(), MAX_WORKERS);
  return parseInteger(text, 1, MAX_WORKERS);
}
