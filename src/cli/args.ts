// Command-line flags of `culex`, Mosquitto's (-c -d -p -v -h) plus Culex extras, and how they combine with the file.

import type { CulexConfig } from '../config/config.js';
import { defaultConfig, localOnlyListeners } from '../config/defaults.js';
import { MAX_WORKERS, parseWorkers } from '../config/options-general.js';
import { parseConfigFile } from '../config/parse.js';
import { checkWorkers } from './workers.js';

export interface CliArgs {
  /** -c / --config-file. */
  configFile?: string;
  /** -d / --daemon: run in the background. */
  daemon: boolean;
  /** -p / --port, in order; at most 10 (Mosquitto's limit). */
  ports: number[];
  /** -v / --verbose: log_type all, overriding the file. */
  verbose: boolean;
  /** -q / --quiet (Mosquitto 2.1): log_type none, overriding the file and -v. */
  quiet: boolean;
  /** --test-config (Culex): load the configuration, report, exit 0 (valid) or 3 (invalid, as any bad configuration). */
  testConfig: boolean;
  /** --check-db FILE (Culex only): verify a persistence database and exit. */
  checkDb?: string;
  /** --workers N (Culex): worker processes sharing the listeners, overriding the file's `workers`. */
  workers?: number;
}

export const CliArgsErrorCode = {
  unknownOption: 'CLI_UNKNOWN_OPTION',
  missingValue: 'CLI_MISSING_VALUE',
  testConfigWithoutFile: 'CLI_TEST_CONFIG_WITHOUT_FILE',
  invalidPort: 'CLI_INVALID_PORT',
  invalidWorkers: 'CLI_INVALID_WORKERS',
  tooManyPorts: 'CLI_TOO_MANY_PORTS',
} as const;
export type CliArgsErrorCode = (typeof CliArgsErrorCode)[keyof typeof CliArgsErrorCode];

/** A bad command line. The message is Mosquitto-like; unknown flags also carry the usage text. */
export class CliArgsError extends Error {
  override readonly name = 'CliArgsError';
  constructor(
    readonly code: CliArgsErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const MAX_PORTS = 10;

export function usage(version?: string): string {
  const head = version === undefined ? '' : `culex version ${version}\n\n`;
  return `${head}culex is an MQTT v5.0/v3.1.1/v3.1 broker, a drop-in replacement for Mosquitto 2.0.

Usage: culex [-c config_file] [-d] [-h] [-p port] [-q] [-v] [--test-config] [--check-db file]
             [--workers N]

 -c, --config-file : specify the broker config file.
 -d, --daemon      : put the broker into the background after starting.
 -h, --help        : display this help.
 -p, --port        : start the broker listening on the specified port (up to 10 times),
                     bound to the loopback interface. Ignored when the config file defines listeners.
 -q, --quiet       : disable all logging. This overrides any logging options given
                     in the config file, and -v.
 -v, --verbose     : verbose mode - enable all logging types. This overrides
                     any logging options given in the config file.
 --test-config     : read the configuration given with -c, report any error, and exit (0 = valid).
 --check-db        : check a persistence database file (integrity, schema, row counts) and exit.
 --workers         : start N worker processes sharing the listeners, each a cluster node
                     (needs cluster_redis_url; "auto" = one per core). Overrides the config file.
`;
}

/** Parses flags (argv without node and script). Returns `{ help: true }` for -h; throws CliArgsError. */
export function parseArgs(argv: string[]): CliArgs | { help: true } {
  const args: CliArgs = { daemon: false, ports: [], verbose: false, quiet: false, testConfig: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new CliArgsError(CliArgsErrorCode.missingValue, missingMessage(flag));
      return next;
    };
    switch (flag) {
      case '-h':
      case '--help':
        return { help: true };
      case '-c':
      case '--config-file':
        args.configFile = value();
        break;
      case '-d':
      case '--daemon':
        args.daemon = true;
        break;
      case '-p':
      case '--port':
        addPort(args, value());
        break;
      case '-q':
      case '--quiet':
        args.quiet = true;
        break;
      case '-v':
      case '--verbose':
        args.verbose = true;
        break;
      case '--test-config':
        args.testConfig = true;
        break;
      case '--check-db':
        args.checkDb = value();
        break;
      case '--workers':
        args.workers = workersFlag(value());
        break;
      default:
        throw new CliArgsError(CliArgsErrorCode.unknownOption, `Unknown option '${flag}'.\n\n${usage()}`);
    }
  }
  // Mosquitto 2.1 manual: the exit code is non-zero "if no config file was specified".
  if (args.testConfig && args.configFile === undefined) {
    throw new CliArgsError(
      CliArgsErrorCode.testConfigWithoutFile,
      'Error: --test-config needs a configuration file given with -c.',
    );
  }
  return args;
}

function workersFlag(text: string): number {
  try {
    return parseWorkers(text);
  } catch {
    throw new CliArgsError(
      CliArgsErrorCode.invalidWorkers,
      `Error: Invalid number of workers specified (${text}): 1 to ${MAX_WORKERS}, or auto.`,
    );
  }
}

function missingMessage(flag: string): string {
  if (flag === '-c' || flag === '--config-file')
    return `${flag} argument given, but no config file specified.`;
  if (flag === '-p' || flag === '--port') return `${flag} argument given, but no port specified.`;
  return `${flag} argument given, but no file specified.`;
}

function addPort(args: CliArgs, text: string): void {
  const port = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    throw new CliArgsError(CliArgsErrorCode.invalidPort, `Invalid port specified (${text}).`);
  if (args.ports.length === MAX_PORTS) {
    throw new CliArgsError(
      CliArgsErrorCode.tooManyPorts,
      `Only ${MAX_PORTS} ports can be specified on the command line.`,
    );
  }
  args.ports.push(port);
}

/**
 * The configuration to run: the file (or Mosquitto's defaults) adjusted by the flags, with Mosquitto 2.0's rules:
 * - `-p` ports replace port 1883 of "local only mode" (loopback only, anonymous allowed) when the file defines no
 *   listener; when it does, `-p` is ignored (a warning says so; Mosquitto is silent);
 * - `-v` sets log_type to all, whatever the file says; `-q` (Mosquitto 2.1) sets it to none, whatever -v says;
 * - `--workers N` replaces the file's `workers` (Culex), which is then checked against the cluster options.
 * Throws ConfigError for a bad file.
 */
export function buildConfig(args: CliArgs): CulexConfig {
  const config = args.configFile === undefined ? defaultConfig() : parseConfigFile(args.configFile);
  if (args.ports.length > 0) {
    if (config.localOnly) {
      config.listeners = localOnlyListeners(args.ports, config.perListenerSettings).map((l) => ({
        ...l,
        setTcpNodelay: config.setTcpNodelay,
      }));
    } else {
      config.warnings.push('The -p option is ignored because the configuration file defines listeners.');
    }
  }
  if (args.quiet) config.log.types = new Set(['none']);
  else if (args.verbose) config.log.types = new Set(['all']);
  if (args.workers !== undefined) {
    config.workers = args.workers;
    delete config.workersSite;
  }
  checkWorkers(config);
  return config;
}
