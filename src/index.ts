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
  EnhancedAuthResult,
} from './broker/hooks.js';
export type { Logger, LogLevel } from './broker/logger.js';
export type { Message } from './broker/message.js';
export { type BrokerOptions, defaultBrokerOptions, type SecurityOptions } from './broker/options.js';
export { MemoryStore } from './persistence/memory-store.js';
export { openStore, type StoreLocation } from './persistence/open-store.js';
export { SqliteStore, type SqliteStoreOptions } from './persistence/sqlite-store.js';
export type { PersistenceStore } from './persistence/store.js';
export { bridgeHost, startBridges } from './server/bridge-host.js';
export { Broker, type BrokerInit, type ListenerSpec } from './server/broker.js';
export type {
  CulexPlugin,
  PluginContext,
  PluginDecision,
  PluginFactory,
  PluginHooks,
} from './server/plugin-api.js';
export type { ListenerOptions, TlsOptions } from './transport/listener-options.js';
