// Mosquitto's `user` option: started as root, the broker switches to that account (default "mosquitto") right
// after reading its configuration, before it writes the pid file, opens logs, security files or listeners.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Account {
  uid: number;
  gid: number;
}

/** What dropping privileges needs from the system; injectable so tests can play root. */
export interface PrivilegeSystem {
  geteuid(): number;
  getegid(): number;
  lookup(name: string): Account | undefined;
  initgroups(name: string, gid: number): void;
  setgid(gid: number): void;
  setuid(uid: number): void;
}

/** A passwd entry through NSS (`getent`), or from /etc/passwd where getent is missing. */
export function lookupAccount(name: string): Account | undefined {
  const getent = spawnSync('getent', ['passwd', name], { encoding: 'utf8' });
  let line: string | undefined;
  if (getent.error === undefined) {
    line = getent.status === 0 ? getent.stdout.split('\n')[0] : undefined;
  } else {
    try {
      line = readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${name}:`));
    } catch {
      line = undefined;
    }
  }
  const fields = line?.split(':');
  if (fields === undefined || fields.length < 4) return undefined;
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
}

/** process.initgroups exists on POSIX systems, though not in every version of Node's type definitions. */
const posix = process as NodeJS.Process & { initgroups?: (user: string, extraGroup: number) => void };

const nodeSystem: PrivilegeSystem = {
  geteuid: () => process.geteuid?.() ?? -1,
  getegid: () => process.getegid?.() ?? -1,
  lookup: lookupAccount,
  initgroups: (name, gid) => posix.initgroups?.(name, gid),
  setgid: (gid) => process.setgid?.(gid),
  setuid: (uid) => process.setuid?.(uid),
};

/**
 * Mosquitto 2.0.11's drop_privileges(), with its messages. `log` receives each line (Mosquitto logs them
 * before its log destinations are open); returns false when the broker must exit (status 1).
 */
export function dropPrivileges(
  user: string | undefined,
  log: (line: string) => void,
  system: PrivilegeSystem = nodeSystem,
): boolean {
  if (system.geteuid() !== 0) return true;
  const name = user ?? 'mosquitto';
  if (name !== 'root') {
    let account = system.lookup(name);
    let accountName = name;
    if (account === undefined) {
      if (name !== 'mosquitto') {
        log(`Error: Unable to drop privileges to '${name}' because this user does not exist.`);
        return false;
      }
      log(
        `Warning: Unable to drop privileges to '${name}' because this user does not exist. Trying 'nobody' instead.`,
      );
      account = system.lookup('nobody');
      accountName = 'nobody';
      if (account === undefined) {
        log("Error: Unable to drop privileges to 'nobody'.");
        return false;
      }
    }
    const { uid, gid } = account;
    // Group first: once the uid is dropped, the process may no longer change its groups.
    const steps: Array<[string, () => void]> = [
      ['groups', () => system.initgroups(accountName, gid)],
      ['gid', () => system.setgid(gid)],
      ['uid', () => system.setuid(uid)],
    ];
    for (const [what, run] of steps) {
      try {
        run();
      } catch (err) {
        const why = err instanceof Error ? err.message : String(err);
        log(`Error setting ${what} whilst dropping privileges: ${why}.`);
        return false;
      }
    }
  }
  if (system.geteuid() === 0 || system.getegid() === 0) {
    log('Warning: Culex should not be run as root/administrator.');
  }
  return true;
}
