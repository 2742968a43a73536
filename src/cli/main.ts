// The `culex` command: Mosquitto's flags, configuration, logging, signals.

import { spawn } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import type { CulexConfig } from '../config/config.js';
import { MemoryStore } from '../persistence/memory-store.js';
import type { PersistenceStore } from '../persistence/store.js';
import { startBridges } from '../server/bridge-host.js';
import { Broker } from '../server/broker.js';
import { CertificateWatcher, tlsFilesOf } from '../server/cert-watch.js';
import { createReloader } from '../server/reload.js';
import { SecurityState } from '../server/security-state.js';
import { buildConfig, CliArgsError, CliArgsErrorCode, parseArgs, usage } from './args.js';
import { dropPrivileges } from './drop-privileges.js';
import { LogSink } from './log-sink.js';
import { configErrorLines, ExitStatus, listenErrorLines, securityErrorLines } from './startup-errors.js';

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

/** Lines written before the log destinations are open go to stderr with a timestamp, as Mosquitto's do. */
function early(line: string): void {
  process.stderr.write(`${Math.floor(Date.now() / 1000)}: ${line}\n`);
}

function exitWith(status: number, lines: readonly string[], log: (line: string) => void = early): never {
  for (const line of lines) log(line);
  process.exit(status);
}

function securityFiles(config: CulexConfig): { passwordFiles: string[]; aclFiles: string[] } {
  const scopes = [config.broker, ...config.listeners.map((l) => l.security ?? config.broker)];
  return {
    passwordFiles: scopes.flatMap((s) => (s.passwordFile === undefined ? [] : [s.passwordFile])),
    aclFiles: scopes.flatMap((s) => (s.aclFile === undefined ? [] : [s.aclFile])),
  };
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
    // Mosquitto prints an unknown flag (and its usage) without a timestamp.
    const plain = err instanceof CliArgsError && err.code === CliArgsErrorCode.unknownOption;
    const log = plain ? (line: string) => process.stderr.write(`${line}\n`) : early;
    exitWith(ExitStatus.invalidConfig, configErrorLines(err), log);
  }
  // Mosquitto's order: remarks made while parsing, then the switch of user, the pid file, the log destinations.
  for (const w of config.warnings) early(w);
  if (!dropPrivileges(config.user, early)) process.exit(ExitStatus.failure);
  if (config.pidFile !== undefined) {
    try {
      writeFileSync(config.pidFile, `${process.pid}\n`);
    } catch {
      exitWith(ExitStatus.failure, ['Error: Unable to write pid file.']);
    }
  }
  const logger = new LogSink(config.log, early);
  const logError = (line: string): void => logger.log('error', line);
  logger.log('notice', `culex version ${VERSION} starting`);
  if (configFile !== undefined) logger.log('notice', `Config loaded from ${configFile}.`);
  else logger.log('notice', 'Using default config.');
  if (config.localOnly) {
    logger.log(
      'notice',
      'Starting in local only mode. Connections will only be possible from clients running on this machine.',
    );
    logger.log('notice', 'Create a configuration file which defines a listener to allow remote access.');
  }
  // Password / ACL / PSK files and plugins; hooks are switchable so SIGHUP can swap them under live clients.
  let security: SecurityState;
  try {
    security = await SecurityState.create(config, logger);
  } catch (err) {
    exitWith(ExitStatus.securityFiles, securityErrorLines(err, securityFiles(config)), logError);
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
    exitWith(ExitStatus.failure, [`Error: ${err instanceof Error ? err.message : String(err)}`], logError);
  }
  let opened = 0;
  for (const listener of config.listeners) {
    try {
      opened += (await broker.listen([listener])).length;
    } catch (err) {
      // In local-only mode the ::1 socket may be missing on hosts without IPv6; Mosquitto goes on with the rest.
      if (config.localOnly && listener.host === '::1') continue;
      for (const line of listenErrorLines(err, listener.port)) logError(line);
      await broker.stop();
      process.exit(ExitStatus.failure);
    }
  }
  if (opened === 0) exitWith(ExitStatus.failure, ['Error: Unable to open any listening socket.'], logError);
  // Bridges connect once the listeners are open, as Mosquitto starts them after its sockets.
  const bridges = startBridges(broker, config.bridges);
  logger.log('notice', `culex version ${VERSION} running`);
  // Culex-only: renewed certificates go live without a SIGHUP (src/server/cert-watch.ts).
  const tlsFiles = tlsFilesOf(config.listeners);
  const certificates =
    tlsFiles.length === 0
      ? undefined
      : new CertificateWatcher({
          files: tlsFiles,
          logger,
          reload: () => broker.prepareTlsReload(loadConfig().listeners)(),
        });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    logger.log('notice', `culex version ${VERSION} terminating`);
    bridges.stopAll();
    broker.stop().then(async () => {
      certificates?.close();
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
  const reload = createReloader({
    loadConfig,
    security,
    logger,
    prepareTls: (next) => broker.prepareTlsReload(next.listeners),
    onReloaded: (next) => bridges.reconfigure(next.bridges),
  });
  process.on('SIGHUP', () => {
    if (configFile === undefined) logger.log('notice', 'SIGHUP: no configuration file to reload.');
    else void reload().then(() => certificates?.reloaded());
  });
}
