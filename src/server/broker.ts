// The public, embeddable broker: it holds the transport-agnostic core, opens the listeners that feed it, and
// offers the typed control surface (broker-api.ts) instead of the core's internals.

import { BrokerCore, type BrokerCoreInit } from '../broker/broker-core.js';
import type { BrokerHooks } from '../broker/hooks.js';
import { disconnectByUsername } from '../broker/kick.js';
import type { ListenerContext } from '../broker/listener-context.js';
import type { SecurityOptions } from '../broker/options.js';
import { SysTopics } from '../broker/sys-topics.js';
import type { BridgeControl, ClusterView } from '../http/host.js';
import { MetricsRegistry } from '../ports/metrics.js';
import type { ConnectionHandler, Listener } from '../transport/listener.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import { PskSource, PskTable } from '../transport/psk-file.js';
import { prepareTlsReload, type TlsServerSetup } from '../transport/tls-context.js';
import type {
  BrokerControl,
  BrokerEventListener,
  BrokerEventName,
  BrokerEventSource,
  BrokerStatsView,
  ClientsApi,
  DisconnectOptions,
  ListenerView,
  PublishRequest,
  RetainedApi,
  SessionsApi,
  SubscriptionsApi,
} from './broker-api.js';
import { CoreControl } from './control.js';
import { culexVersion } from './culex-version.js';
import { openListener } from './listeners.js';

/** A listener as the library API takes it: only the port is required. */

/** Connections a listener holds while its context is being built (workers N); more are closed. */
const MAX_EARLY_CONNECTIONS = 1000;
export type ListenerSpec = Partial<ListenerOptions> & { port: number };

export interface BrokerInit extends BrokerCoreInit {
  /**
   * Hooks per listener (per_listener_settings), keyed by the listener's index: listeners are counted across
   * every `listen()` call, in order, so index i is the i-th listener ever passed in.
   */
  listenerHooks?: ReadonlyMap<number, BrokerHooks>;
  /** TLS-PSK keys per listener index (replaceable on reload); otherwise read from the psk_file at listen time. */
  pskSources?: ReadonlyMap<number, PskSource>;
  /** `sys_interval`: seconds between $SYS/broker/... updates; 0 (the library default) publishes none. */
  sysInterval?: number;
  /** Version for $SYS/broker/version; default: package.json's. */
  version?: string;
}

function completeListener(spec: ListenerSpec): ListenerOptions {
  return {
    protocol: 'mqtt',
    maxConnections: -1,
    // Culex batches its writes per event-loop turn itself, so Nagle only adds latency (see docs/compatibility.md).
    setTcpNodelay: true,
    useUsernameAsClientId: false,
    ...spec,
  };
}

/**
 * Mosquitto 2.1's `listener_allow_anonymous` / `listener_auto_id_prefix` override one listener's security. The
 * override inherits from the shared options, so a reload that changes them in place still reaches the listener.
 */
function listenerSecurity(options: ListenerOptions, base: SecurityOptions): SecurityOptions {
  if (options.allowAnonymous === undefined && options.autoIdPrefix === undefined) return base;
  const own: Partial<SecurityOptions> = {};
  if (options.allowAnonymous !== undefined) own.allowAnonymous = options.allowAnonymous;
  if (options.autoIdPrefix !== undefined) own.autoIdPrefix = options.autoIdPrefix;
  return Object.assign(Object.create(base) as SecurityOptions, own);
}

/** The core with the server's one override: identities restored from the store find their listener's hooks. */
class ServerCore extends BrokerCore {
  portHooks: ((port: number) => BrokerHooks | undefined) | undefined;

  override hooksForPort(port: number): BrokerHooks {
    // Also called during the base constructor's restore, before portHooks is set: the global hooks then.
    return this.portHooks?.(port) ?? this.hooks;
  }
}

export class Broker implements BrokerControl, BrokerEventSource {
  private readonly core: ServerCore;
  private readonly control: CoreControl;
  private readonly open: Listener[] = [];
  /** What each open listener is, for `listeners`. */
  private readonly views: ListenerView[] = [];
  private readonly listenerHooks: ReadonlyMap<number, BrokerHooks>;
  private readonly pskSources: ReadonlyMap<number, PskSource>;
  private readonly contexts: (ListenerContext | undefined)[] = [];
  /** TLS material of each listener by index, for a reload. */
  private readonly tlsSetups: (TlsServerSetup | undefined)[] = [];
  private readonly sys: SysTopics | undefined;
  private readonly version: string;
  /** Options of each listener opened, with the port really bound (for the HTTP API's /api/v1/listeners). */
  private readonly opened: ListenerOptions[] = [];
  private socketsAccepted = 0;
  private bridgeControl: BridgeControl | undefined;
  private clusterView: ClusterView | undefined;

  /** Figures other parts (bridges, a cluster, the embedder) add to /metrics: see docs/metrics.md. */
  readonly metrics = new MetricsRegistry();

  readonly clients: ClientsApi;
  readonly sessions: SessionsApi;
  readonly subscriptions: SubscriptionsApi;
  readonly retained: RetainedApi;

  constructor(init: BrokerInit = {}) {
    this.core = new ServerCore(init);
    this.core.portHooks = (port) => this.contexts.find((c) => c !== undefined && c.port === port)?.hooks;
    this.control = new CoreControl(this.core);
    this.clients = this.control.clients;
    this.sessions = this.control.sessions;
    this.subscriptions = this.control.subscriptions;
    this.retained = this.control.retained;
    this.listenerHooks = init.listenerHooks ?? new Map();
    this.pskSources = init.pskSources ?? new Map();
    const sysInterval = init.sysInterval ?? 0;
    this.version = init.version ?? culexVersion();
    if (sysInterval > 0) {
      this.sys = new SysTopics(this.core, {
        interval: sysInterval,
        version: this.version,
        socketsAccepted: () => this.socketsAccepted,
      });
      this.sys.start();
    }
  }

  /**
   * @internal The core itself, for the server's own wiring (security reload, log topic) and for tests that
   * must look at internal state. Not part of the public API: it changes without notice.
   */
  get internals(): BrokerCore {
    return this.core;
  }

  /** @internal The bridges createBroker started, for the HTTP API's /bridges endpoints. */
  attachBridges(bridges: BridgeControl | undefined): void {
    this.bridgeControl = bridges;
  }

  /** @internal The cluster createBroker joined, for the HTTP API's /cluster/nodes. */
  attachClusterView(view: ClusterView | undefined): void {
    this.clusterView = view;
  }

  /** Publishes as the broker; returns how many subscriptions matched. Throws TypeError for a bad topic / QoS. */
  publish(request: PublishRequest): number {
    return this.control.publish(request);
  }

  /** Disconnects a connected client (MQTT 5: with `reasonCode`, default 0x98); false if it is not connected. */
  disconnect(clientId: string, options?: DisconnectOptions): boolean {
    return this.control.disconnect(clientId, options);
  }

  disconnectClients(usernames: ReadonlySet<string | undefined>): number {
    return usernames.size === 0 ? 0 : disconnectByUsername(this.core, usernames);
  }

  /** The listeners open now, one per bound socket. */
  get listeners(): readonly ListenerView[] {
    return this.views;
  }

  /** Counters since start, and the current numbers of connections, sessions, subscriptions and retained messages. */
  get stats(): BrokerStatsView {
    const core = this.core;
    return {
      ...core.stats,
      connections: core.connections.size,
      clientsConnected: this.control.clientCount,
      sessions: core.sessions.size,
      subscriptions: core.tree.size,
      retained: core.retained.size,
    };
  }

  on<K extends BrokerEventName>(event: K, listener: BrokerEventListener<K>): this {
    this.core.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<K extends BrokerEventName>(event: K, listener: BrokerEventListener<K>): this {
    this.core.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<K extends BrokerEventName>(event: K, listener: BrokerEventListener<K>): this {
    this.core.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** @internal Context of each listener by index (undefined for one that failed to open). */
  get listenerContexts(): readonly (ListenerContext | undefined)[] {
    return this.contexts;
  }

  /** Listeners opened so far (with the ports really bound). */
  get listening(): readonly Listener[] {
    return this.open;
  }
  /** Opens listeners; by default one on localhost:1883 as Mosquitto 2.0 does with no configuration. */
  async listen(specs: readonly ListenerSpec[] = [{ port: 1883, host: '127.0.0.1' }]): Promise<Listener[]> {
    const opened: Listener[] = [];
    for (const spec of specs) {
      const index = this.contexts.length;
      this.contexts.push(undefined);
      const options = completeListener(spec);
      // Built once the port is known (port 0 binds an ephemeral one). A worker of `workers N` may be handed
      // connections by the primary's shared socket before that: they wait (bounded) for the context.
      let context: ListenerContext | undefined;
      const early: Parameters<ConnectionHandler>[] = [];
      const handler: ConnectionHandler = (stream, remote, certificateUsername) => {
        const base = context;
        if (base === undefined) {
          if (early.length < MAX_EARLY_CONNECTIONS) early.push([stream, remote, certificateUsername]);
          else stream.destroy();
          return;
        }
        // The certificate / PSK identity is per connection, so such a connection gets its own context.
        this.socketsAccepted++;
        if (this.overGlobalMaxConnections(stream, remote)) return;
        this.core.handleConnection(
          stream,
          certificateUsername === undefined ? base : { ...base, certificateUsername },
          remote,
        );
      };
      try {
        const { listeners, tls } = await openListener(options, handler, {
          handshakeTimeoutMs: Math.max(1, this.core.options.connectTimeout) * 1000,
          psk: this.pskSourceFor(index, options),
          logger: this.core.logger,
          openHttpApi: (tls) => this.openHttpApi(options, tls, () => context!),
        });
        this.tlsSetups[index] = tls;
        context = this.contextFor(
          { ...options, port: listeners[0]?.port ?? options.port },
          this.listenerHooks.get(index) ?? this.core.hooks,
        );
        this.contexts[index] = context;
        for (const args of early.splice(0)) handler(...args);
        this.opened.push({ ...options, port: listeners[0]?.port ?? options.port });
        for (const l of listeners) {
          this.core.logger.log('notice', `Opening ${l.description}.`);
          this.views.push({
            port: l.port,
            description: l.description,
            protocol: options.protocol,
            tls: options.tls !== undefined,
            mountPoint: options.mountPoint ?? '',
          });
        }
        // Mosquitto 2.1's line after an http_api listener's opening.
        if (options.protocol === 'http_api' && options.httpDir !== undefined)
          this.core.logger.log('information', `Using http_dir ${options.httpDir}`);
        opened.push(...listeners);
      } catch (err) {
        for (const [stream] of early.splice(0)) stream.destroy();
        await Promise.all(opened.map((l) => l.close()));
        throw err;
      }
    }
    this.open.push(...opened);
    return opened;
  }

  /**
   * Reads the certificate, key, CA and CRL files of every TLS listener again from `listeners` (indexed as
   * listen() counts them) and returns the step that makes them live for new connections (open ones keep
   * theirs). If any file is unusable it logs why, as Mosquitto does, and the step changes no listener.
   */
  prepareTlsReload(listeners: readonly ListenerOptions[]): () => void {
    const steps: (() => void)[] = [];
    for (const [i, setup] of this.tlsSetups.entries()) {
      const tls = listeners[i]?.tls;
      if (setup === undefined || tls === undefined) continue;
      try {
        steps.push(prepareTlsReload(setup, tls));
      } catch (err) {
        this.core.logger.log('error', `Error: ${err instanceof Error ? err.message : String(err)}`);
        this.core.logger.log(
          'error',
          `Error when reloading certificate '${tls.certfile}' or key '${tls.keyfile}'.`,
        );
        return () => {};
      }
    }
    return () => {
      for (const step of steps) step();
    };
  }

  /** A `protocol http_api` listener (loaded on demand, as WebSockets are). */
  private async openHttpApi(
    options: ListenerOptions,
    tls: TlsServerSetup | undefined,
    context: () => ListenerContext,
  ): Promise<Listener[]> {
    const { openHttpApiListener } = await import('../http/http-api-listener.js');
    const host = {
      core: this.core,
      version: this.version,
      listenerOptions: () => this.opened,
      metrics: this.metrics,
      bridges: () => this.bridgeControl,
      cluster: () => this.clusterView,
    };
    return openHttpApiListener(host, { options, context }, tls);
  }

  /** Mosquitto 2.1 `global_max_connections`: refused on accept with max_connections' log line, as 2.1 does. */
  private overGlobalMaxConnections(stream: { destroy(): void }, remote: string): boolean {
    const core = this.core;
    const max = core.options.globalMaxConnections;
    if (max <= 0 || core.connections.size < max) return false;
    if (core.options.connectionMessages) {
      core.logger.log('notice', `Client connection from ${remote} denied: max_connections exceeded.`);
    }
    stream.destroy();
    return true;
  }

  private pskSourceFor(index: number, options: ListenerOptions): PskSource | undefined {
    if (options.tls?.pskHint === undefined) return undefined;
    const given = this.pskSources.get(index);
    if (given !== undefined) return given;
    const file = options.security?.pskFile ?? this.core.options.pskFile;
    return new PskSource(file === undefined ? PskTable.empty : PskTable.load(file));
  }

  private contextFor(options: ListenerOptions, hooks: BrokerHooks): ListenerContext {
    const context: ListenerContext = {
      port: options.port,
      mountPoint: options.mountPoint ?? '',
      security: listenerSecurity(options, options.security ?? this.core.options),
      hooks,
      maxQos: options.maxQos ?? this.core.options.maxQos,
      maxTopicAlias: options.maxTopicAlias ?? this.core.options.maxTopicAlias,
      useUsernameAsClientId: options.useUsernameAsClientId,
      plainMqtt: options.protocol !== 'websockets',
    };
    const own: { acceptProtocolVersions?: ReadonlyArray<3 | 4 | 5>; maxTopicAliasBroker?: number } = {};
    if (options.acceptProtocolVersions !== undefined)
      own.acceptProtocolVersions = options.acceptProtocolVersions;
    if (options.maxTopicAliasBroker !== undefined) own.maxTopicAliasBroker = options.maxTopicAliasBroker;
    return { ...context, ...own };
  }

  /** Stops accepting, disconnects every client, and resolves when the listeners are closed. */
  async stop(): Promise<void> {
    const listeners = this.open.splice(0);
    this.views.length = 0;
    const closing = Promise.all(listeners.map((l) => l.close()));
    this.sys?.stop();
    this.core.close();
    await closing;
  }
}
