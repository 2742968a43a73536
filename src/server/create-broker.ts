// The composition root: everything a mosquitto.conf describes (listeners with TLS / WebSocket, password / ACL /
// PSK files, plugins, the persistence store, $SYS, log destinations, bridges, certificate watching) built into one
// running broker. The `culex`
// command and embedders both start here; the command adds only flags, signals and process concerns.

import { bridgeMetrics } from '../bridge/bridge-metrics.js';
import type { Bridges } from '../bridge/bridges.js';
import type { Logger } from '../broker/logger.js';
import type { Cluster } from '../cluster/cluster.js';
import type { ClusterSessions } from '../cluster/cluster-sessions.js';
import type { SharedStates } from '../cluster/shared-state.js';
import type { CulexConfig } from '../config/config.js';
import { MemoryStore } from '../persistence/memory-store.js';
import type { PersistenceStore } from '../persistence/store.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import { startBridges } from './bridge-host.js';
import { Broker } from './broker.js';
import { CertificateWatcher, tlsFilesOf } from './cert-watch.js';
import { culexVersion } from './culex-version.js';
import { configSource } from './load-config.js';
import { LogSink } from './log-sink.js';
import { createReloader } from './reload.js';
import { SecurityState } from './security-state.js';

/** The stage of start-up that failed; the `culex` command maps each to Mosquitto's exit status and words. */
export type StartStage = 'security' | 'store' | 'listen' | 'cluster';

export class BrokerStartError extends Error {
  override readonly name = 'BrokerStartError';
  constructor(
    readonly stage: StartStage,
    override readonly cause: unknown,
    /** The listener that failed to open (stage 'listen'). */
    readonly listener?: ListenerOptions,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

export interface CreateBrokerOptions {
  /** Where log lines go; default: the configuration's log_dest / log_type (a LogSink). */
  logger?: Logger;
  /** Reads the configuration again for `reload()`; default: the file `loadConfig` read, if any. */
  readConfig?: () => CulexConfig | Promise<CulexConfig>;
  /** Version for $SYS/broker/version; default: package.json's. */
  version?: string;
  /**
   * Called when a listener fails to open; return true to go on without it (the `culex` command does so for ::1
   * in local-only mode). Default: fail the start.
   */
  skipListener?: (listener: ListenerOptions, error: unknown) => boolean;
}

/** A broker built from a configuration: it can also reload that configuration (SIGHUP). */
/** What createBroker attaches to the broker it built; all of it ends with the broker. */
interface Attached {
  security: SecurityState;
  reloader: (() => Promise<boolean>) | undefined;
  bridges?: Bridges;
  removeBridgeMetrics?: () => void;
  removeClusterMetrics?: () => void;
  certificates?: CertificateWatcher | undefined;
  cluster?: Cluster;
  /** Plugin state shared by the nodes (dynamic security), wired once the cluster runs. */
  sharedStates?: SharedStates;
  /** The cluster's sessions (the Redis store), opened before the core. */
  sessions?: ClusterSessions | undefined;
}

export class ConfiguredBroker extends Broker {
  private attached: Attached | undefined;

  /** @internal Set up by createBroker. */
  configure(attached: Attached): void {
    this.attached = attached;
  }

  /**
   * Re-reads the configuration and swaps in its password, ACL and PSK files, plugins and TLS files without
   * dropping anyone (Mosquitto's SIGHUP). Resolves false when there is nothing to re-read or the new
   * configuration is unusable (the running one stays, and the log says why).
   */
  async reload(): Promise<boolean> {
    const reloader = this.attached?.reloader;
    if (reloader === undefined) {
      this.internals.logger.log('notice', 'SIGHUP: no configuration file to reload.');
      return false;
    }
    const ok = await reloader();
    // The reload read the certificate files too: the watcher compares with what is loaded now.
    this.attached?.certificates?.reloaded();
    return ok;
  }

  /** Cluster mode (`cluster_redis_url`): this node's part of the cluster; undefined for a single node. */
  get cluster(): Cluster | undefined {
    return this.attached?.cluster;
  }

  /** Stops the bridges, the listeners and clients, leaves the cluster, then closes the plugins. */
  override async stop(): Promise<void> {
    this.attached?.bridges?.stopAll();
    this.attached?.removeBridgeMetrics?.();
    this.attachBridges(undefined);
    // Sessions are saved (as disconnected, owned here) before the node leaves: a survivor then adopts them.
    await super.stop();
    await this.attached?.sessions?.closed();
    this.attached?.removeClusterMetrics?.();
    this.attachClusterView(undefined);
    this.attached?.sharedStates?.stop();
    await this.attached?.cluster?.stop();
    this.attached?.certificates?.close();
    await this.attached?.security.close();
  }
}

async function openClusterSessions(config: CulexConfig, logger: Logger): Promise<ClusterSessions> {
  const options = config.cluster!;
  if (config.persistence.enabled)
    logger.log('warning', 'Warning: cluster mode keeps sessions in Redis; persistence_file is not used.');
  const { defaultNodeId } = await import('../cluster/cluster.js');
  const { ClusterSessions } = await import('../cluster/cluster-sessions.js');
  return ClusterSessions.open(options, options.nodeId ?? defaultNodeId(config.listeners[0]?.port), logger);
}

async function openConfiguredStore(config: CulexConfig, logger: Logger): Promise<PersistenceStore> {
  if (!config.persistence.enabled) return new MemoryStore();
  const sync = config.persistence.sync ?? 'normal';
  // SQLite is loaded only when persistence is on (its native module costs memory for nothing otherwise).
  const { databasePath, openStore } = await import('../persistence/open-store.js');
  const store = openStore(config.persistence, { synchronous: sync });
  logger.log('notice', `Persistence: ${databasePath(config.persistence)} (sync ${sync}).`);
  return store;
}

/**
 * Builds and starts the broker a configuration describes, with its listeners open. Throws BrokerStartError
 * (stage + cause) when a security file, a plugin, the store or a listener is unusable; nothing stays open then.
 */
export async function createBroker(
  config: CulexConfig,
  options: CreateBrokerOptions = {},
): Promise<ConfiguredBroker> {
  const logger = options.logger ?? new LogSink(config.log);
  const version = options.version ?? culexVersion();
  // Password / ACL / PSK files and plugins; hooks are switchable so a reload can swap them under live clients.
  let security: SecurityState;
  try {
    security = await SecurityState.create(config, logger);
  } catch (err) {
    throw new BrokerStartError('security', err);
  }
  let broker: ConfiguredBroker;
  let sessions: ClusterSessions | undefined;
  try {
    // Cluster mode: persistent sessions live in Redis (src/cluster and ioredis load only then).
    if (config.cluster !== undefined) sessions = await openClusterSessions(config, logger);
  } catch (err) {
    await security.close();
    throw new BrokerStartError('cluster', err);
  }
  try {
    // A corrupt, unreadable or read-only database: refuse to start rather than run without the saved state.
    const store = sessions?.store ?? (await openConfiguredStore(config, logger));
    broker = new ConfiguredBroker({
      options: config.broker,
      logger,
      hooks: security.global.hooks,
      listenerHooks: security.listenerHooks(),
      pskSources: security.pskSources(),
      store,
      sysInterval: config.sysInterval,
      version,
    });
  } catch (err) {
    sessions?.store.close();
    await sessions?.closed();
    await security.close();
    // The Redis of the cluster could not be reached (its sessions open first): a cluster failure, not a file's.
    throw new BrokerStartError(
      config.cluster !== undefined && sessions === undefined ? 'cluster' : 'store',
      err,
    );
  }
  // Clients that connect before the cluster runs wait for it at their claim.
  sessions?.prepare(broker.internals);
  security.attach(broker);
  if (logger instanceof LogSink) logger.attach(broker.internals);
  const read = options.readConfig ?? configSource(config);
  const attached: Attached = { security, reloader: undefined, sessions };
  attached.reloader =
    read === undefined
      ? undefined
      : createReloader({
          loadConfig: read,
          security,
          logger,
          prepareTls: (next) => broker.prepareTlsReload(next.listeners),
          onReloaded: (next) => {
            attached.bridges?.reconfigure(next.bridges);
            // The reloaded plugins read their files: the cluster's shared state wins over them again.
            void attached.sharedStates?.wire();
          },
        });
  broker.configure(attached);
  for (const listener of config.listeners) {
    try {
      await broker.listen([listener]);
    } catch (err) {
      if (options.skipListener?.(listener, err) === true) continue;
      await broker.stop();
      throw new BrokerStartError('listen', err, listener);
    }
  }
  if (broker.listening.length === 0 && config.listeners.length > 0) {
    await broker.stop();
    throw new BrokerStartError('listen', new Error('Unable to open any listening socket.'));
  }
  if (config.cluster !== undefined) {
    try {
      // ioredis and the cluster code load only in cluster mode.
      const [{ startCluster }, { clusterMetrics }] = await Promise.all([
        import('../cluster/cluster.js'),
        import('../cluster/cluster-metrics.js'),
      ]);
      // The node id the store was opened with (the first listener's configured port by default).
      const options =
        sessions === undefined ? config.cluster : { ...config.cluster, nodeId: sessions.nodeId };
      attached.cluster = await startCluster(broker.internals, options, {
        logger,
        firstPort: broker.listening[0]?.port,
        sysInterval: config.sysInterval,
      });
      sessions?.attach(attached.cluster);
      const cluster = attached.cluster;
      attached.removeClusterMetrics = broker.metrics.add(
        clusterMetrics({
          nodeId: cluster.nodeId,
          peers: () => cluster.link.aliveNodes(),
          counters: () => cluster.counters,
          redisUp: () => cluster.link.up,
          requests: () => cluster.link.requestOutcomes,
          adoptions: () => sessions?.adoption?.totals,
          routeConfirmTimeouts: () => cluster.routes.confirmations.timedOut,
        }),
      );
      broker.attachClusterView(cluster.link);
      const { SharedStates } = await import('../cluster/shared-state.js');
      attached.sharedStates = await SharedStates.start(
        cluster.link,
        () =>
          security.loadedPlugins.flatMap((p) =>
            p.plugin.sharedState === undefined ? [] : [p.plugin.sharedState],
          ),
        logger,
      );
    } catch (err) {
      await broker.stop();
      throw new BrokerStartError('cluster', err);
    }
  }
  // Bridges connect once the listeners are open, as Mosquitto starts them after its sockets.
  attached.bridges = startBridges(broker.internals, config.bridges);
  broker.attachBridges(attached.bridges);
  attached.removeBridgeMetrics = broker.metrics.add(bridgeMetrics(attached.bridges));
  attached.certificates = watchCertificates(broker, config, read, logger);
  return broker;
}

/** Culex-only: renewed certificates go live without a SIGHUP (cert-watch.ts). */
function watchCertificates(
  broker: Broker,
  config: CulexConfig,
  read: (() => CulexConfig | Promise<CulexConfig>) | undefined,
  logger: Logger,
): CertificateWatcher | undefined {
  const files = tlsFilesOf(config.listeners);
  if (files.length === 0) return undefined;
  const apply = (next: CulexConfig): void => broker.prepareTlsReload(next.listeners)();
  return new CertificateWatcher({
    files,
    logger,
    reload: () => {
      const next = read?.() ?? config;
      // A synchronous reader's errors reach the watcher, which logs them; an asynchronous one's are logged here.
      if (next instanceof Promise) {
        next.then(apply, (err: unknown) => {
          logger.log(
            'error',
            `Error: certificate reload failed: ${err instanceof Error ? err.message : String(err)}`,
          );
        });
      } else apply(next);
    },
  });
}
