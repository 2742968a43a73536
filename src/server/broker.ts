// The public, embeddable broker: the transport-agnostic core plus the listeners that feed it.

import { BrokerCore, type BrokerCoreInit } from '../broker/broker-core.js';
import type { BrokerHooks } from '../broker/hooks.js';
import type { ListenerContext } from '../broker/listener-context.js';
import type { SecurityOptions } from '../broker/options.js';
import { SysTopics } from '../broker/sys-topics.js';
import type { ConnectionHandler, Listener } from '../transport/listener.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import { PskSource, PskTable } from '../transport/psk-file.js';
import { prepareTlsReload, type TlsServerSetup } from '../transport/tls-context.js';
import { culexVersion } from './culex-version.js';
import { openListener } from './listeners.js';

/** A listener as the library API takes it: only the port is required. */
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

export function completeListener(spec: ListenerSpec): ListenerOptions {
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

export class Broker extends BrokerCore {
  private readonly open: Listener[] = [];
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

  constructor(init: BrokerInit = {}) {
    super(init);
    this.listenerHooks = init.listenerHooks ?? new Map();
    this.pskSources = init.pskSources ?? new Map();
    const sysInterval = init.sysInterval ?? 0;
    this.version = init.version ?? culexVersion();
    if (sysInterval > 0) {
      this.sys = new SysTopics(this, {
        interval: sysInterval,
        version: this.version,
        socketsAccepted: () => this.socketsAccepted,
      });
      this.sys.start();
    }
  }

  /** Context of each listener by index (undefined for one that failed to open). */
  get listenerContexts(): readonly (ListenerContext | undefined)[] {
    return this.contexts;
  }

  /** The hooks of the listener on `port` (per_listener_settings), for identities restored from the store. */
  override hooksForPort(port: number): BrokerHooks {
    // Called during the base constructor's restore too, before this class's fields exist.
    const contexts = this.contexts as (ListenerContext | undefined)[] | undefined;
    const context = contexts?.find((c) => c !== undefined && c.port === port);
    return context?.hooks ?? this.hooks;
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
      // Built once the port is known (port 0 binds an ephemeral one); no connection can arrive before.
      let context: ListenerContext | undefined;
      const handler: ConnectionHandler = (stream, remote, certificateUsername) => {
        // The certificate / PSK identity is per connection, so such a connection gets its own context.
        const base = context!;
        this.socketsAccepted++;
        if (this.overGlobalMaxConnections(stream, remote)) return;
        this.handleConnection(
          stream,
          certificateUsername === undefined ? base : { ...base, certificateUsername },
          remote,
        );
      };
      try {
        const { listeners, tls } = await openListener(options, handler, {
          handshakeTimeoutMs: Math.max(1, this.options.connectTimeout) * 1000,
          psk: this.pskSourceFor(index, options),
          logger: this.logger,
          openHttpApi: (tls) => this.openHttpApi(options, tls, () => context!),
        });
        this.tlsSetups[index] = tls;
        context = this.contextFor(
          { ...options, port: listeners[0]?.port ?? options.port },
          this.listenerHooks.get(index) ?? this.hooks,
        );
        this.contexts[index] = context;
        this.opened.push({ ...options, port: listeners[0]?.port ?? options.port });
        for (const l of listeners) this.logger.log('notice', `Opening ${l.description}.`);
        // Mosquitto 2.1's line after an http_api listener's opening.
        if (options.protocol === 'http_api' && options.httpDir !== undefined)
          this.logger.log('information', `Using http_dir ${options.httpDir}`);
        opened.push(...listeners);
      } catch (err) {
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
        this.logger.log('error', `Error: ${err instanceof Error ? err.message : String(err)}`);
        this.logger.log(
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
    const host = { core: this, version: this.version, listenerOptions: () => this.opened };
    return openHttpApiListener(host, { options, context }, tls);
  }

  /** Mosquitto 2.1 `global_max_connections`: refused on accept with max_connections' log line, as 2.1 does. */
  private overGlobalMaxConnections(stream: { destroy(): void }, remote: string): boolean {
    const max = this.options.globalMaxConnections;
    if (max <= 0 || this.connections.size < max) return false;
    if (this.options.connectionMessages) {
      this.logger.log('notice', `Client connection from ${remote} denied: max_connections exceeded.`);
    }
    stream.destroy();
    return true;
  }

  private pskSourceFor(index: number, options: ListenerOptions): PskSource | undefined {
    if (options.tls?.pskHint === undefined) return undefined;
    const given = this.pskSources.get(index);
    if (given !== undefined) return given;
    const file = options.security?.pskFile ?? this.options.pskFile;
    return new PskSource(file === undefined ? PskTable.empty : PskTable.load(file));
  }

  contextFor(options: ListenerOptions, hooks: BrokerHooks): ListenerContext {
    const context: ListenerContext = {
      port: options.port,
      mountPoint: options.mountPoint ?? '',
      security: listenerSecurity(options, options.security ?? this.options),
      hooks,
      maxQos: options.maxQos ?? this.options.maxQos,
      maxTopicAlias: options.maxTopicAlias ?? this.options.maxTopicAlias,
      useUsernameAsClientId: options.useUsernameAsClientId,
      plainMqtt: options.protocol !== 'websockets',
    };
    const own: { acceptProtocolVersions?: ReadonlyArray<3 | 4 | 5>; maxTopicAliasBroker?: number } = {};
    if (options.acceptProtocolVersions !== undefined)
      own.acceptProtocolVersions = options.acceptProtocolVersions;
    if (options.maxTopicAliasBroker !== undefined) own.maxTopicAliasBroker = options.maxTopicAliasBroker;
    return { ...context, ...own };
  }

  /** Also stops the $SYS publisher, whichever of close() / stop() ends the broker. */
  override close(): void {
    this.sys?.stop();
    super.close();
  }

  /** Stops accepting, disconnects every client, and resolves when the listeners are closed. */
  async stop(): Promise<void> {
    const listeners = this.open.splice(0);
    const closing = Promise.all(listeners.map((l) => l.close()));
    this.close();
    await closing;
  }
}
