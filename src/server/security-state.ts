// The broker's live security configuration: hooks per listener (password / ACL files and plugins), PSK keys
// and the plugins' event handlers. Built from a CulexConfig at start and rebuilt, all or nothing, on reload.

import type { BrokerHooks, ClientInfo } from '../broker/hooks.js';
import type { Logger } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import type { SecurityOptions } from '../broker/options.js';
import type { CulexConfig } from '../config/config.js';
import { PskSource, PskTable } from '../transport/psk-file.js';
import type { Broker } from './broker.js';
import { chainHooks } from './hook-chain.js';
import { HookSwitch } from './hook-switch.js';
import type { PluginBroker } from './plugin-api.js';
import { pluginBroker } from './plugin-broker.js';
import { closePlugins, type LoadedPlugin, loadPlugins } from './plugin-loader.js';
import { hooksFromFiles } from './security.js';

/** One complete generation of security material; nothing in it is live until `install`. */
interface SecurityBuild {
  global: BrokerHooks;
  perListener: BrokerHooks[];
  psk: (PskTable | undefined)[];
  plugins: LoadedPlugin[];
}

function pluginsFor(plugins: readonly LoadedPlugin[], index: number): LoadedPlugin[] {
  return plugins.filter((p) => p.config.listenerIndex === undefined || p.config.listenerIndex === index);
}

async function build(config: CulexConfig, logger: Logger, broker: PluginBroker): Promise<SecurityBuild> {
  const plugins = await loadPlugins(config.plugins, logger, broker);
  try {
    const globalPlugins = plugins.filter((p) => p.config.listenerIndex === undefined);
    const global = chainHooks(globalPlugins, hooksFromFiles(config.broker, logger), logger);
    const perListener = config.listeners.map((l, i) =>
      config.perListenerSettings && l.security !== undefined
        ? chainHooks(pluginsFor(plugins, i), hooksFromFiles(l.security, logger), logger)
        : global,
    );
    const psk = config.listeners.map((l) => {
      if (l.tls?.pskHint === undefined) return undefined;
      const file = (config.perListenerSettings ? l.security?.pskFile : undefined) ?? config.broker.pskFile;
      return file === undefined ? PskTable.empty : PskTable.load(file);
    });
    return { global, perListener, psk, plugins };
  } catch (err) {
    await closePlugins(plugins, logger);
    throw err;
  }
}

/** The fields of a security scope that take effect on the next CONNECT when they change. */
function copySecurityOptions(target: SecurityOptions, source: SecurityOptions): void {
  target.allowAnonymous = source.allowAnonymous;
  target.allowZeroLengthClientId = source.allowZeroLengthClientId;
  target.autoIdPrefix = source.autoIdPrefix;
}

export class SecurityState {
  readonly global = new HookSwitch();
  /** One switch per configured listener, in file order (the index `Broker.listen` counts). */
  readonly listeners: HookSwitch[];
  readonly psk: (PskSource | undefined)[];
  private plugins: LoadedPlugin[] = [];
  private broker: Broker | undefined;
  /** Handed to plugins before the broker exists; acts on it once attached. */
  private readonly pluginBroker = pluginBroker(() => this.broker);
  private readonly onMessage = (message: Message, client: ClientInfo | null): void => {
    for (const p of this.plugins)
      if (p.plugin.onMessage !== undefined) this.guard(p, () => p.plugin.onMessage!(message, client));
  };

  private constructor(
    config: CulexConfig,
    private readonly logger: Logger,
  ) {
    this.listeners = config.listeners.map(() => new HookSwitch());
    this.psk = config.listeners.map((l) => (l.tls?.pskHint === undefined ? undefined : new PskSource()));
  }

  /** Loads everything the configuration names; throws (file or plugin errors) so start-up can fail clearly. */
  static async create(config: CulexConfig, logger: Logger): Promise<SecurityState> {
    const state = new SecurityState(config, logger);
    state.install(await build(config, logger, state.pluginBroker));
    return state;
  }

  /** Hooks per listener index, as `BrokerInit.listenerHooks` takes them. */
  listenerHooks(): Map<number, BrokerHooks> {
    return new Map(this.listeners.map((s, i) => [i, s.hooks]));
  }

  pskSources(): Map<number, PskSource> {
    const map = new Map<number, PskSource>();
    this.psk.forEach((s, i) => {
      if (s !== undefined) map.set(i, s);
    });
    return map;
  }

  get loadedPlugins(): readonly LoadedPlugin[] {
    return this.plugins;
  }

  /** Routes broker events to the plugins' handlers (whichever plugins are current when the event fires). */
  attach(broker: Broker): void {
    this.broker = broker;
    broker.on('clientConnected', (client: ClientInfo) => {
      for (const p of this.plugins)
        if (p.plugin.onClientConnected !== undefined)
          this.guard(p, () => p.plugin.onClientConnected!(client));
    });
    broker.on('clientDisconnected', (client: ClientInfo) => {
      for (const p of this.plugins)
        if (p.plugin.onClientDisconnected !== undefined)
          this.guard(p, () => p.plugin.onClientDisconnected!(client));
    });
    this.syncMessageListener();
  }

  /**
   * Builds a new generation from `config` and switches to it; connected clients stay and meet the new rules
   * on their next check. On any error the old generation stays in force and the error is thrown.
   */
  async reload(config: CulexConfig): Promise<void> {
    const next = await build(config, this.logger, this.pluginBroker);
    if (config.listeners.length !== this.listeners.length) {
      this.logger.log(
        'warning',
        'Listener changes take effect only after a restart; reloading security settings only.',
      );
    }
    const old = this.plugins;
    this.install(next);
    this.applySecurityOptions(config);
    await closePlugins(old, this.logger);
  }

  async close(): Promise<void> {
    const old = this.plugins;
    this.plugins = [];
    this.syncMessageListener();
    await closePlugins(old, this.logger);
  }

  private install(next: SecurityBuild): void {
    this.global.set(next.global);
    this.listeners.forEach((s, i) => {
      s.set(next.perListener[i] ?? next.global);
    });
    this.psk.forEach((s, i) => {
      if (s !== undefined) s.table = next.psk[i] ?? PskTable.empty;
    });
    this.plugins = next.plugins;
    this.syncMessageListener();
  }

  /** allow_anonymous and friends: the contexts read these objects on every CONNECT. */
  private applySecurityOptions(config: CulexConfig): void {
    const broker = this.broker;
    if (broker === undefined) return;
    copySecurityOptions(broker.options, config.broker);
    if (!config.perListenerSettings) return;
    config.listeners.forEach((l, i) => {
      const context = broker.listenerContexts[i];
      if (l.security !== undefined && context !== undefined && context.security !== broker.options) {
        copySecurityOptions(context.security, l.security);
      }
    });
  }

  /** The broker emits 'message' only when someone listens: listen only while a plugin wants messages. */
  private syncMessageListener(): void {
    const broker = this.broker;
    if (broker === undefined) return;
    broker.off('message', this.onMessage);
    if (this.plugins.some((p) => p.plugin.onMessage !== undefined)) broker.on('message', this.onMessage);
  }

  private guard(p: LoadedPlugin, run: () => void): void {
    try {
      run();
    } catch (err) {
      this.logger.log(
        'error',
        `Plugin ${p.config.path}: event handler failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
