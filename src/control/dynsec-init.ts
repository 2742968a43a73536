// First run as Mosquitto 2.1 does it, when asked to: with `plugin_opt_password_init_file` or the
// MOSQUITTO_DYNSEC_PASSWORD environment variable and no config file, a default file is generated with an `admin`
// user holding that password. Without either, Culex keeps 2.0.11's behaviour (no file, an empty configuration);
// 2.1's third mode, random passwords written in clear to FILE.pw, is not copied. The file is written in 2.0's
// password format (password / salt / iterations), which 2.0 and 2.1 both read.

import { readFileSync } from 'node:fs';
import type { LogLevel } from '../broker/logger.js';
import type { JsonValue } from './cjson.js';
import { hashPassword } from './dynsec-password.js';

type Log = (level: LogLevel, message: string) => void;

export class DynsecInitError extends Error {}

function initPassword(passwordFile: string | undefined, log: Log): string | undefined {
  if (passwordFile !== undefined) {
    log('information', `  Using admin password from file '${passwordFile}'`);
    let text: string;
    try {
      text = readFileSync(passwordFile, 'utf8');
    } catch {
      throw new DynsecInitError(
        `Error: Unable to get initial password from '${passwordFile}', file not accessible.`,
      );
    }
    if (text.length === 0)
      throw new DynsecInitError(`Error: Unable to get initial password from '${passwordFile}', file empty.`);
    const first = (text.split('\n')[0] ?? '').replace(/\s+$/, '');
    if (first.length === 0)
      throw new DynsecInitError(
        `Error: Unable to get initial password from '${passwordFile}', password is empty.`,
      );
    return first;
  }
  const env = process.env.MOSQUITTO_DYNSEC_PASSWORD;
  if (env === undefined) return undefined;
  log('information', '  Using admin password from MOSQUITTO_DYNSEC_PASSWORD environment variable');
  if (env.length < 12) {
    throw new DynsecInitError(
      'Error: Not generating dynsec config, MOSQUITTO_DYNSEC_PASSWORD must be at least 12 characters.',
    );
  }
  return env;
}

const acl = (acltype: string, topic: string): JsonValue => ({ acltype, topic, priority: 0, allow: true });
const full = (rolename: string, textdescription: string, topic: string): JsonValue => ({
  rolename,
  textdescription,
  acls: ['publishClientSend', 'publishClientReceive', 'subscribePattern', 'unsubscribePattern'].map((t) =>
    acl(t, topic),
  ),
});

/** The default document, or undefined when 2.1's generation was not asked for. */
export function initialDocument(passwordFile: string | undefined, log: Log): JsonValue | undefined {
  if (passwordFile === undefined && process.env.MOSQUITTO_DYNSEC_PASSWORD === undefined) return undefined;
  log('information', 'Dynamic security plugin config not found, generating a default config.');
  const password = initPassword(passwordFile, log)!;
  const pw = hashPassword(password);
  return {
    defaultACLAccess: {
      publishClientSend: false,
      publishClientReceive: true,
      subscribe: false,
      unsubscribe: true,
    },
    clients: [
      {
        username: 'admin',
        textname: 'Admin user',
        roles: [{ rolename: 'super-admin' }, { rolename: 'sys-observe' }, { rolename: 'topic-observe' }],
        password: pw.hash.toString('base64'),
        salt: pw.salt.toString('base64'),
        iterations: pw.iterations,
      },
    ],
    groups: [
      {
        groupname: 'unauthenticated',
        textname: 'Unauthenticated group',
        textdescription:
          'If unauthenticated access is allowed, this group can be used to define roles for clients that connect without a password.',
        roles: [],
      },
    ],
    roles: [
      full('client', 'Read/write access to the full application topic hierarchy.', '#'),
      full('broker-admin', 'Grants access to administer general broker configuration.', '$CONTROL/broker/#'),
      full(
        'dynsec-admin',
        'Grants access to administer clients/groups/roles.',
        '$CONTROL/dynamic-security/#',
      ),
      full('super-admin', 'Grants access to administer all kind of broker controls', '$CONTROL/#'),
      {
        rolename: 'sys-notify',
        textdescription: 'Allow bridges to publish connection state messages.',
        acls: [acl('publishClientSend', '$SYS/broker/connection/%c/state')],
      },
      {
        rolename: 'sys-observe',
        textdescription: 'Observe the $SYS topic hierarchy.',
        acls: [acl('publishClientReceive', '$SYS/#'), acl('subscribePattern', '$SYS/#')],
      },
      {
        rolename: 'topic-observe',
        textdescription: 'Read only access to the full application topic hierarchy.',
        acls: [
          acl('publishClientReceive', '#'),
          acl('subscribePattern', '#'),
          acl('unsubscribePattern', '#'),
        ],
      },
    ],
    anonymousGroup: 'unauthenticated',
  };
}
