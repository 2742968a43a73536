// The `culex` command: Mosquitto's flags, configuration, logging, signals.

import { spawn } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import type { CulexConfig } from '../config/config.js';
import { type ConfiguredBroker, createBroker } from '../server/create-broker.js';
import { culexVersion } from '../server/culex-version.js';
import { LogSink } from '../server/log-sink.js';
import { buildConfig, CliArgsError, CliArgsErrorCode, parseArgs, usage } from './args.js';
import { dropPrivileges } from './drop-privileges.js';
import { configErrorLines, ExitStatus, startFailure } from './startup-errors.js';
import { isPrimaryOfWorkers, reportReady, runPrimary, workerConfig, workerNumber } from './workers.js';

export const VERSION: string = culexVersion();

/** Lines written before the log destinations are open go to stderr with a timestamp, as Mosquitto's do. */
function early(line: string): void {
  process.stderr.write(`${Math.floor(Date.now() / 1000)}: ${line}\n`);
}

function exitWith(status: number, lines: readonly string[], log: (line: string) => void = early): never {
  for (const line of lines) log(line);
  process.exit(status);
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

/** The first lines of a start (once per broker: a worker of `workers N` leaves them to its primary). */
function startingLines(logger: LogSink, configFile: string | undefined, localOnly: boolean): void {
  logger.log('notice', `culex version ${VERSION} starting`);
  if (configFile !== undefined) logger.log('notice', `Config loaded from ${configFile}.`);
  else logger.log('notice', 'Using default config.');
  if (localOnly) {
    logger.log(
      'notice',
      'Starting in local only mode. Connections will only be possible from clients running on this machine.',
    );
    logger.log('notice', 'Create a configuration file which defines a listener to allow remote access.');
  }
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
    // A worker (`workers N`) runs the same command line with its own changes (src/cli/workers.ts).
    const worker = workerNumber();
    const build =
      worker === undefined ? () => buildConfig(args) : () => workerConfig(buildConfig(args), worker);
    config = build();
    loadConfig = build;
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
  // The primary of `workers N` says all that once, and the lines of the whole broker; each worker only its own.
  const worker = workerNumber() !== undefined;
  if (!worker) for (const w of config.warnings) early(w);
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
  const removePidFile = (): void => {
    if (config.pidFile === undefined) return;
    try {
      unlinkSync(config.pidFile);
    } catch {
      // already gone
    }
  };
  if (!worker) startingLines(logger, configFile, config.localOnly);
  if (isPrimaryOfWorkers(config)) {
    runPrimary({ config, logger, version: VERSION, onStopped: removePidFile });
    return;
  }
  // SIGHUP is taken from here on: one that arrives while the listeners open (a supervisor reloading early) is
  // kept for when the broker runs instead of killing the process, the default action for the signal.
  let running: ConfiguredBroker | undefined;
  let reloadWhenRunning = false;
  process.on('SIGHUP', () => {
    if (configFile === undefined) logger.log('notice', 'SIGHUP: no configuration file to reload.');
    else if (running === undefined) reloadWhenRunning = true;
    else void running.reload();
  });
  let broker: ConfiguredBroker;
  try {
    broker = await createBroker(config, {
      logger,
      version: VERSION,
      readConfig: loadConfig,
      // In local-only mode the ::1 socket may be missing on hosts without IPv6; Mosquitto goes on with the rest.
      skipListener: (listener) => config.localOnly && listener.host === '::1',
    });
  } catch (err) {
    const failure = startFailure(err, config);
    exitWith(failure.status, failure.lines, logError);
  }
  if (worker) reportReady();
  else logger.log('notice', `culex version ${VERSION} running`);
  running = broker;
  if (reloadWhenRunning) void broker.reload();

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    if (!worker) logger.log('notice', `culex version ${VERSION} terminating`);
    broker.stop().then(() => {
      removePidFile();
      process.exit(0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
