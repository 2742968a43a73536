// Loads the JavaScript modules named by `plugin` / `auth_plugin` lines and turns each into a CulexPlugin.

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger, LogLevel } from '../broker/logger.js';
import type { PluginConfig } from '../config/config.js';
import { BROKER_CONTROL_PLUGIN, createBrokerControlPlugin } from '../control/broker-control.js';
import { createDynsecPlugin, isDynsecPluginPath } from '../control/dynsec-plugin.js';
import type { CulexPlugin, PluginBroker, PluginContext, PluginModuleExport } from './plugin-api.js';
import { detachedPluginBroker } from './plugin-broker.js';

export class PluginLoadError extends Error {
  constructor(
    readonly path: string,
    why: string,
  ) {
    super(`Unable to load plugin "${path}": ${why}`);
    this.name = 'PluginLoadError';
  }
}

export interface LoadedPlugin {
  readonly config: PluginConfig;
  readonly plugin: CulexPlugin;
}

const HOOKS = [
  'authenticate',
  'authorize',
  'enhancedAuth',
  'onClientConnected',
  'onClientDisconnected',
  'onMessage',
  'onControl',
  'close',
] as const;

/** Each load gets a fresh module instance, so a SIGHUP picks up an edited plugin file. */
let generation = 0;

function checkShape(path: string, value: unknown): CulexPlugin {
  if (typeof value !== 'object' || value === null)
    throw new PluginLoadError(path, 'the default export did not give a plugin object');
  const plugin = value as Record<string, unknown>;
  for (const name of HOOKS) {
    if (plugin[name] !== undefined && typeof plugin[name] !== 'function') {
      throw new PluginLoadError(path, `"${name}" must be a function`);
    }
  }
  return value as CulexPlugin;
}

async function loadPlugin(
  config: PluginConfig,
  logger: Logger,
  broker: PluginBroker = detachedPluginBroker,
): Promise<LoadedPlugin> {
  const path = config.path;
  // Mosquitto 2.1's $CONTROL/broker/v1 is part of the broker, not a loaded plugin: no "Loading plugin" line.
  if (path === BROKER_CONTROL_PLUGIN && config.controlApi !== undefined) {
    const log = (level: LogLevel, message: string): void => logger.log(level, message);
    const builtIn = { options: {}, log, broker, listenerIndex: undefined };
    return { config, plugin: createBrokerControlPlugin(builtIn, config.controlApi) };
  }
  logger.log('notice', `Loading plugin: ${path}`);
  const context: PluginContext = {
    options: Object.freeze({ ...config.options }),
    log: (level, message) => logger.log(level, `Plugin ${path}: ${message}`),
    broker,
    listenerIndex: config.listenerIndex,
  };
  // Mosquitto's own dynamic-security plugin is built in: its JSON file and $CONTROL API work unchanged.
  if (isDynsecPluginPath(path)) {
    try {
      return { config, plugin: createDynsecPlugin({ ...context, log: (l, m) => logger.log(l, m) }) };
    } catch (err) {
      throw new PluginLoadError(
        path,
        `initialisation failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  if (/\.(so|dll|dylib)$/i.test(path)) {
    throw new PluginLoadError(
      path,
      'native Mosquitto plugins cannot be loaded; Culex plugins are JavaScript modules (see docs/plugins.md)',
    );
  }
  const file = resolve(path);
  try {
    statSync(file);
  } catch (err) {
    throw new PluginLoadError(path, (err as NodeJS.ErrnoException).code ?? String(err));
  }
  let exported: PluginModuleExport | undefined;
  try {
    const url = `${pathToFileURL(file).href}?culex-load=${++generation}`;
    const mod = (await import(url)) as { default?: PluginModuleExport };
    exported = mod.default;
  } catch (err) {
    throw new PluginLoadError(path, err instanceof Error ? err.message : String(err));
  }
  if (exported === undefined) throw new PluginLoadError(path, 'the module has no default export');
  let value: unknown = exported;
  if (typeof exported === 'function') {
    try {
      value = await exported(context);
    } catch (err) {
      throw new PluginLoadError(
        path,
        `initialisation failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
  return { config, plugin: checkShape(path, value) };
}

/** Loads plugins in file order; if one fails, those already loaded are closed and the error is thrown. */
export async function loadPlugins(
  configs: readonly PluginConfig[],
  logger: Logger,
  broker?: PluginBroker,
): Promise<LoadedPlugin[]> {
  const loaded: LoadedPlugin[] = [];
  try {
    for (const config of configs) loaded.push(await loadPlugin(config, logger, broker));
  } catch (err) {
    await closePlugins(loaded, logger);
    throw err;
  }
  return loaded;
}

export async function closePlugins(plugins: readonly LoadedPlugin[], logger: Logger): Promise<void> {
  for (const { config, plugin } of plugins) {
    try {
      await plugin.close?.();
    } catch (err) {
      logger.log(
        'warning',
        `Plugin ${config.path}: close failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }
}
