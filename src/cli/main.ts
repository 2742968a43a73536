// The `culex` command: Mosquitto's flags, configuration, logging, signals.

import { spawn } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { CulexConfig } from '../config/config.js';
import { MemoryStore } from '../persistence/memory-store.js';
import type { PersistenceStore } from '../persistence/store.js';
import { Broker } from '../server/broker.js';
import { createReloader } from '../server/reload.js';
import { SecurityState } from '../server/security-state.js';
import { buildConfig, parseArgs, usage } from './args.js';
import { LogSink } from './log-sink.js';

export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

function fail(message: string): never {
  process.stderr.write(`Error: ${message}\n`);
  process.exit(1);
}

/** Re-runs this command detached from the terminal (Mosquitto's -d), then exits. */
function daemonize(argv: readonly string[]): never {
  const rest = argv.filter((a) => a !== '-d' && a !== '--daemon');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...rest], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
  process.exit(0);
}

export async function main(argv: readonly string[]): Promise<void> {
  let config: CulexConfig;
  let configFile: string | undefined;
  let loadConfig: () => CulexConfig;
  try {
    const args = parseArgs([...argv]);
    if ('help' in args) {
      // Mosquitto prints its usage and exits 3 for -h.
      process.stdout.write(usage(VERSION));
      process.exit(3);
    }
    if (args.checkDb !== undefined) {
      const { runCheckDb } = await import('../persistence/check-db.js');
      process.exit(runCheckDb(args.checkDb));
    }
    if (args.daemon) daemonize(argv);
    configFile = args.configFile;
    config = buildConfig(args);
    loadConfig = () => buildConfig(args);
    if (args.testConfig) {
      process.stdout.write(`Configuration OK${configFile === undefined ? '' : `: ${configFile}`}\n`);
      process.exit(0);
    }
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const logger = new LogSink(config.log);
  logger.log('notice', `culex version ${VERSION} starting`);
  if (configFile !== undefined) logger.log('notice', `Config loaded from ${configFile}.`);
  else logger.log('notice', 'Using default config.');
  for (const w of config.warnings) logger.log('warning', w);
  // Password / ACL / PSK files and plugins (after the start lines, so "Loading plugin: ..." follows them as in
  // Mosquitto); hooks are switchable so SIGHUP can swap them under live clients.
  let security: SecurityState;
  try {
    security = await SecurityState.create(config, logger);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  if (config.localOnly) {
    logger.log(
      'notice',
      'Starting in local only mode. Connections will only be possible from clients running on this machine.',
    );
    logger.log('notice', 'Create a configuration file which defines a listener to allow remote access.');
  }

  let store: PersistenceStore;
  let broker: Broker;
  try {
    const sync = config.persistence.sync ?? 'normal';
    if (config.persistence.enabled) {
      // SQLite is loaded only when persistence is on (its native module costs memory for nothing otherwise).
      const { databasePath, openStore } = await import('../persistence/open-store.js');
      store = openStore(config.persistence, { synchronous: sync });
      logger.log('notice', `Persistence: ${databasePath(config.persistence)} (sync ${sync}).`);
    } else {
      store = new MemoryStore();
    }
    broker = new Broker({
      options: config.broker,
      logger,
      hooks: security.global.hooks,
      listenerHooks: security.listenerHooks(),
      pskSources: security.pskSources(),
      store,
      sysInterval: config.sysInterval,
      version: VERSION,
    });
    security.attach(broker);
    logger.attach(broker);
  } catch (err) {
    // A corrupt, unreadable or read-only database: refuse to start rather than run without the saved state.
    fail(err instanceof Error ? err.message : String(err));
  }
  let opened = 0;
  for (const listener of config.listeners) {
    try {
      opened += (await broker.listen([listener])).length;
    } catch (err) {
      // In local-only mode the ::1 socket may be missing on hosts without IPv6; Mosquitto goes on with the rest.
      if (config.localOnly && listener.host === '::1') continue;
      logger.log('error', `Error: ${err instanceof Error ? err.message : String(err)}`);
      await broker.stop();
      process.exit(1);
    }
  }
  if (opened === 0) fail('unable to open any listening socket');
  if (config.pidFile !== undefined) writeFileSync(config.pidFile, `${process.pid}\n`);
  logger.log('notice', `culex version ${VERSION} running`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.log('notice', `culex version ${VERSION} terminating`);
    broker.stop().then(async () => {
      await security.close();
      if (config.pidFile !== undefined) {
        try {
          unlinkSync(config.pidFile);
        } catch {
          // already gone
        }
      }
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const reload = createReloader({ loadConfig, security, logger });
  process.on('SIGHUP', () => {
    if (configFile === undefined) logger.log('notice', 'SIGHUP: no configuration file to reload.');
    else void reload();
  });
}
