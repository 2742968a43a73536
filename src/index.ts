// Culex's public library API. Everything not exported here is internal.

export type {
  BridgeAddress,
  BridgeConfig,
  BridgeDirection,
  BridgeTlsOptions,
  BridgeTopic,
  RestartTimeout,
} from './bridge/bridge-config.js';
export type { BridgeHost, BridgeState, BridgeStats } from './bridge/bridge-host.js';
export { Bridges } from './bridge/bridges.js';
export type { BrokerStats } from './broker/broker-core.js';
export type {
  AccessKind,
  AuthenticationRequest,
  BrokerHooks,
  ClientInfo,
  EnhancedAuthHook,
  EnhancedAuthResult,
} from './broker/hooks.js';
export type { Logger, LogLevel } from './broker/logger.js';
export type { Message } from './broker/message.js';
export { type BrokerOptions, defaultBrokerOptions, type SecurityOptions } from './broker/options.js';
export type { CulexConfig, LogOptions, PersistenceOptions, PluginConfig } from './config/config.js';
export { ConfigError, ConfigErrorCode } from './config/config-error.js';
/** Mosquitto's defaults (no -c: local only on 1883), to start a configuration object from. */
export { defaultConfig } from './config/defaults.js';
export { MemoryStore } from './persistence/memory-store.js';
export { openStore, type StoreLocation } from './persistence/open-store.js';
export { SqliteStore, type SqliteStoreOptions } from './persistence/sqlite-store.js';
export type { PersistenceStore } from './persistence/store.js';
export {
  type MetricFamily,
  type MetricLabels,
  type MetricSample,
  MetricsRegistry,
  type MetricsSource,
  type MetricType,
} from './ports/metrics.js';
export { bridgeHost, startBridges } from './server/bridge-host.js';
export { Broker, type BrokerInit, type ListenerSpec } from './server/broker.js';
// Every type of the control surface (BrokerControl, its views and requests), listed once in broker-api.ts.
export type * from './server/broker-api.js';
export {
  BrokerStartError,
  ConfiguredBroker,
  type CreateBrokerOptions,
  createBroker,
  type StartStage,
} from './server/create-broker.js';
export { loadConfig, parseConfig } from './server/load-config.js';
export { LogSink } from './server/log-sink.js';
export type {
  CulexPlugin,
  PluginBroker,
  PluginContext,
  PluginDecision,
  PluginFactory,
  PluginHooks,
} from './server/plugin-api.js';
export type { ListenerOptions, TlsOptions } from './transport/listener-options.js';
