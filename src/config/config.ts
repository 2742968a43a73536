// The typed result of reading a mosquitto.conf: everything the CLI needs to start a Culex broker.

import type { BridgeConfig } from '../bridge/bridge-config.js';
import type { LogLevel } from '../broker/logger.js';
import type { BrokerOptions } from '../broker/options.js';
import type { ClusterOptions } from '../cluster/cluster-options.js';
import type { ListenerOptions } from '../transport/listener-options.js';

export type LogDestKind = 'stderr' | 'stdout' | 'file' | 'syslog' | 'topic' | 'none';

export interface LogDestination {
  kind: LogDestKind;
  /** Only for `file`: the file to append to. */
  path?: string;
}

export interface LogOptions {
  /** `log_dest`, in file order. Default `[stderr]`; `none` alone means no logging at all. */
  dest: LogDestination[];
  /** `log_type`. Default error, warning, notice, information; `all` and `none` kept as written. */
  types: Set<LogLevel | 'all' | 'none'>;
  /** `log_timestamp`, default true. */
  timestamp: boolean;
  /** `log_timestamp_format`: an strftime format; unset = seconds since the Unix epoch (Mosquitto). */
  timestampFormat?: string;
  /** `log_facility`: syslog local facility 0-7 (local0..local7); unset = the "daemon" facility. */
  syslogFacility?: number;
}

export interface PersistenceOptions {
  /** `persistence`, default false. */
  enabled: boolean;
  /** `persistence_location`: directory of the database; default '' = the current directory. */
  location: string;
  /** `persistence_file`, default mosquitto.db. */
  file: string;
  /** `autosave_interval`, seconds (or change count with autosaveOnChanges); 0 = only on exit. Default 1800. */
  autosaveInterval: number;
  /** `autosave_on_changes`, default false. */
  autosaveOnChanges: boolean;
  /**
   * `persistence_sync` (Culex only); unset = 'normal': commits survive a process kill (SIGKILL). 'full' also
   * fsyncs every commit so that they survive an OS crash or power cut too (one fsync per event-loop turn).
   */
  sync?: 'full' | 'normal';
}

/** The `plugin` path under which Culex keeps Mosquitto 2.1's built-in `$CONTROL/broker/v1` endpoint. */
export const BROKER_CONTROL_PLUGIN = 'culex:broker-control';

/** What the endpoint reports, taken from the configuration the broker runs. */
export interface BrokerControlInfo {
  readonly listeners: ReadonlyArray<{
    port: number;
    protocol: 'mqtt' | 'websockets' | 'http_api';
    host?: string;
    unixSocketPath?: string;
    tls: boolean;
  }>;
  readonly plugins: ReadonlyArray<{ path: string; options: Readonly<Record<string, string>>; port?: number }>;
}

/** `plugin` / `auth_plugin` with its `plugin_opt_*` / `auth_opt_*` options, kept for the auth layer to judge. */
export interface PluginConfig {
  path: string;
  /** Option names without their `plugin_opt_` / `auth_opt_` prefix. */
  options: Record<string, string>;
  /** `auth_plugin_deny_special_chars`, default true. */
  denySpecialChars: boolean;
  /** With `per_listener_settings true`: index in `CulexConfig.listeners` the plugin belongs to. */
  listenerIndex?: number;
  /** Mosquitto 2.1 `enable_control_api`: what the built-in `$CONTROL/broker/v1` plugin reports. */
  controlApi?: BrokerControlInfo;
}

export interface CulexConfig {
  /** Broker-wide options; with per_listener_settings false its security fields apply to every listener. */
  broker: BrokerOptions;
  /** Sockets to open, in file order (the implicit default listener, when enabled, comes first). */
  listeners: ListenerOptions[];
  /**
   * True when no listener was configured and Mosquitto 2.0's "local only mode" applies: the listeners are
   * loopback-only (127.0.0.1 and ::1) and anonymous clients are allowed. The ::1 one may fail on hosts without
   * IPv6; Mosquitto carries on with whichever socket opened.
   */
  localOnly: boolean;
  log: LogOptions;
  persistence: PersistenceOptions;
  /** `per_listener_settings`: security options live in `ListenerOptions.security` instead of `broker`. */
  perListenerSettings: boolean;
  /** `pid_file`: write the process id there at start. */
  pidFile?: string;
  /** `user`: recorded only; Culex never changes user (run it as the account it should run as). */
  user?: string;
  /** `sys_interval`: seconds between $SYS updates; 0 disables $SYS. Default 10. */
  sysInterval: number;
  /** `set_tcp_nodelay` (global in Mosquitto); also copied into every listener's `setTcpNodelay`. */
  setTcpNodelay: boolean;
  plugins: PluginConfig[];
  /** `connection` sections (bridges), in file order. */
  bridges: BridgeConfig[];
  /** Culex-only cluster mode (`cluster_redis_url` and the other `cluster_*` options); undefined = one node. */
  cluster?: ClusterOptions;
  /** Files read, main file first then include_dir files in load order. */
  files: string[];
  /** Non-fatal remarks (deprecated options…), for the CLI to log at start like Mosquitto does. */
  warnings: string[];
  /** Culex `workers`: worker processes the `culex` command forks (1 = one process, as Mosquitto). */
  workers: number;
  /** Where `workers` was written, to blame it (absent for the default or `--workers`). */
  workersSite?: { file: string; line: number };
}
