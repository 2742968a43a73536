// Shared set-up of the dynamic-security tests: a dynsec JSON file (Mosquitto's format) and the same
// configuration started under the real mosquitto (with Debian's mosquitto_dynamic_security.so) and under Culex.

import { chmodSync, copyFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashPassword } from '../../src/control/dynsec-password.js';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, startFromConf, tempDir, writeConf } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';

export const DYNSEC_SO = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

/** Skip reason when the oracle is missing (a hard failure under CI=true). */
export function oracleSkip(...tools: string[]): string | false {
  const missing = requireTool('mosquitto', ...tools);
  if (missing !== false || existsSync(DYNSEC_SO)) return missing;
  if (process.env.CI === 'true') throw new Error(`${DYNSEC_SO} missing (required on CI)`);
  return `${DYNSEC_SO} missing`;
}

export type Doc = Record<string, unknown>;

export interface ClientSpec {
  username: string;
  password: string;
  clientid?: string;
  roles?: { rolename: string; priority?: number }[];
}

/** A client entry with a real PBKDF2 hash, as the plugin stores it. */
export function clientEntry(spec: ClientSpec): Doc {
  const pw = hashPassword(spec.password);
  const out: Doc = { username: spec.username };
  if (spec.clientid !== undefined) out.clientid = spec.clientid;
  out.roles = spec.roles ?? [];
  out.password = pw.hash.toString('base64');
  out.salt = pw.salt.toString('base64');
  out.iterations = pw.iterations;
  return out;
}

export interface Pair {
  readonly mosquitto: BrokerProcess;
  readonly culex: BrokerProcess;
  /** The dynsec file each broker uses. */
  readonly files: { mosquitto: string; culex: string };
  stop(): Promise<void>;
}

/**
 * Starts both brokers, each on its own copy of `initial` (a JSON text), with `pluginLine` naming the plugin
 * (Culex gets the same line). The directory is world-writable: mosquitto started as root saves as its own user.
 */
export async function startPair(
  initial: string,
  extra: readonly string[] = [],
  culexPlugin = DYNSEC_SO,
): Promise<Pair> {
  const dir = tempDir('culex-dynsec-');
  chmodSync(dir, 0o777);
  const files = { mosquitto: join(dir, 'mosquitto.json'), culex: join(dir, 'culex.json') };
  writeFileSync(files.mosquitto, initial);
  copyFileSync(files.mosquitto, files.culex);
  chmodSync(files.mosquitto, 0o666);
  chmodSync(files.culex, 0o666);
  const start = async (kind: 'mosquitto' | 'culex', file: string, plugin: string): Promise<BrokerProcess> => {
    const port = await freePort();
    const conf = writeConf(dir, port, [
      `plugin ${plugin}`,
      `plugin_opt_config_file ${file}`,
      'allow_anonymous true',
      ...extra,
    ]);
    return startFromConf(kind, conf, port);
  };
  const mosquitto = await start('mosquitto', files.mosquitto, DYNSEC_SO);
  const culex = await start('culex', files.culex, culexPlugin).catch(async (err) => {
    await mosquitto.stop();
    throw err;
  });
  return {
    mosquitto,
    culex,
    files,
    async stop() {
      await Promise.all([mosquitto.stop(), culex.stop()]);
    },
  };
}
