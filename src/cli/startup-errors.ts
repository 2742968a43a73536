// How start-up failures are reported: Mosquitto 2.0.11's exit statuses and, where Culex has the same facts,
// its very words (checked against the binary in test/cli/exit-codes.test.ts).

import { AuthFileError } from '../auth/auth-file-error.js';
import type { CulexConfig } from '../config/config.js';
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import { BrokerStartError } from '../server/create-broker.js';
import { PluginLoadError } from '../server/plugin-loader.js';
import { PskFileError } from '../transport/psk-file.js';

/** Mosquitto's exit statuses. */
export const ExitStatus = {
  /** A listener, the pid file, dropping privileges: MOSQ_ERR_UNKNOWN-style failures. */
  failure: 1,
  /** A bad command line or configuration file (MOSQ_ERR_INVAL). */
  invalidConfig: 3,
  /** A password, ACL or PSK file that cannot be read, a plugin that cannot be loaded (MOSQ_ERR_ERRNO). */
  securityFiles: 13,
} as const;

/** Lines for a bad command line or configuration file (exit 3). */
export function configErrorLines(err: unknown): string[] {
  if (!(err instanceof ConfigError)) return [`Error: ${err instanceof Error ? err.message : String(err)}`];
  if (err.code === ConfigErrorCode.fileError && err.line === 0) {
    return [`Error: Unable to open config file ${err.file}.`];
  }
  if (err.code === ConfigErrorCode.unknownOption && err.line > 0) {
    return [
      `Error: Unknown configuration variable "${err.option}".`,
      `Error found at ${err.file}:${err.line}.`,
    ];
  }
  return [`Error: ${err.message}`];
}

/** Lines for a security file or plugin that cannot be loaded (exit 13). */
function securityErrorLines(
  err: unknown,
  files: { passwordFiles: readonly string[]; aclFiles: readonly string[] },
): string[] {
  if (err instanceof AuthFileError && err.line === 0) {
    if (files.passwordFiles.includes(err.file)) {
      return [`Error: Unable to open pwfile "${err.file}".`, `Error opening password file "${err.file}".`];
    }
    if (files.aclFiles.includes(err.file)) {
      return [`Error: Unable to open acl_file "${err.file}".`, `Error opening acl file "${err.file}".`];
    }
  }
  if (err instanceof PskFileError && err.line === 0) {
    return [`Error: Unable to open pwfile "${err.file}".`, `Error opening psk file "${err.file}".`];
  }
  if (err instanceof PluginLoadError) return [`Error: ${err.message}`];
  return [`Error: ${err instanceof Error ? err.message : String(err)}`];
}

/** Mosquitto's wording for the usual reasons a listening socket cannot be opened (exit 1). */
function listenErrorLines(err: unknown, port: number): string[] {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return ['Error: Address already in use'];
    case 'EADDRNOTAVAIL':
      return ['Error: Cannot assign requested address'];
    case 'EACCES':
      return port > 0 && port < 1024
        ? [
            'If you are trying to bind to a privileged port (<1024), try using setcap and do not start the broker as root:',
            `    sudo setcap 'CAP_NET_BIND_SERVICE=+ep ${process.execPath}'`,
            'Error: Permission denied',
          ]
        : ['Error: Permission denied'];
    default:
      return [`Error: ${err instanceof Error ? err.message : String(err)}`];
  }
}

function securityFiles(config: CulexConfig): { passwordFiles: string[]; aclFiles: string[] } {
  const scopes = [config.broker, ...config.listeners.map((l) => l.security ?? config.broker)];
  return {
    passwordFiles: scopes.flatMap((s) => (s.passwordFile === undefined ? [] : [s.passwordFile])),
    aclFiles: scopes.flatMap((s) => (s.aclFile === undefined ? [] : [s.aclFile])),
  };
}

/** Exit status and lines for a failed createBroker, by the stage that failed. */
export function startFailure(err: unknown, config: CulexConfig): { status: number; lines: string[] } {
  if (!(err instanceof BrokerStartError))
    return { status: ExitStatus.failure, lines: [`Error: ${String(err)}`] };
  switch (err.stage) {
    case 'security':
      return {
        status: ExitStatus.securityFiles,
        lines: securityErrorLines(err.cause, securityFiles(config)),
      };
    case 'listen':
      return {
        status: ExitStatus.failure,
        lines:
          err.listener === undefined
            ? [`Error: ${err.message}`]
            : listenErrorLines(err.cause, err.listener.port),
      };
    default:
      return { status: ExitStatus.failure, lines: [`Error: ${err.message}`] };
  }
}
