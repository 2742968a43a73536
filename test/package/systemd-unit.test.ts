// The systemd unit: valid for systemd itself (systemd-analyze verify), and the behaviour of Debian's
// mosquitto.service an operator relies on: same configuration file, SIGHUP on reload, restart on failure.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { requireTool } from '../helpers/tools.js';

const UNIT = fileURLToPath(new URL('../../../packaging/systemd/culex.service', import.meta.url));

/** key=value lines of a unit file by section, a key given twice keeping every value. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header !== null) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current !== undefined && eq > 0, `stray line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

test('the unit reloads with SIGHUP, restarts on failure, runs the Mosquitto config, and is sandboxed', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const service = unit.get('Service');
  assert.ok(service !== undefined);
  const one = (key: string): string | undefined => service.get(key)?.at(-1);
  assert.match(one('ExecStart') ?? '', /\bculex -c \/etc\/mosquitto\/mosquitto\.conf$/);
  assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  assert.equal(one('Restart'), 'on-failure');
  for (const [key, value] of [
    ['NoNewPrivileges', 'true'],
    ['ProtectSystem', 'strict'],
    ['ProtectHome', 'true'],
    ['PrivateTmp', 'true'],
    ['PrivateDevices', 'true'],
    ['RestrictAddressFamilies', 'AF_UNIX AF_INET AF_INET6'],
  ] as const) {
    assert.equal(one(key), value, key);
  }
  // The broker persists to and logs into Debian's directories; the sandbox must leave them writable.
  assert.deepEqual(one('ReadWritePaths')?.split(' ').sort(), [
    '/run/mosquitto',
    '/var/lib/mosquitto',
    '/var/log/mosquitto',
  ]);
  assert.equal(unit.get('Install')?.get('WantedBy')?.[0], 'multi-user.target');
});

test('systemd-analyze verify accepts the unit', { skip: requireTool('systemd-analyze') }, () => {
  const result = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr.trim(), '', 'systemd complained about the unit');
});
