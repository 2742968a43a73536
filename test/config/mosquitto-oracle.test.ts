// Culex accepts and refuses the same configuration files as the real Mosquitto 2.0 (run as the oracle).

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseConfigFile } from '../../src/config/parse.js';

const hasMosquitto = spawnSync('mosquitto', ['-h']).error === undefined;
const dir = mkdtempSync(join(tmpdir(), 'culex-oracle-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Mosquitto 2.0.11 has no --test-config: a file is accepted when the broker is still running after a moment. */
function mosquittoAccepts(file: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('mosquitto', ['-c', file], { stdio: 'ignore' });
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      resolve(true);
    }, 700);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

function culexAccepts(file: string): boolean {
  try {
    parseConfigFile(file);
    return true;
  } catch {
    return false;
  }
}

/** Every case defines a listener on a free port, so an accepting Mosquitto never grabs port 1883. */
const CASES: Array<{ name: string; text: (port: number) => string; accepted: boolean }> = [
  { name: 'minimal listener', text: (p) => `listener ${p}\nallow_anonymous true\n`, accepted: true },
  {
    name: 'typical production file',
    text: (p) =>
      `# comment\nper_listener_settings false\nmax_inflight_messages 40\nmax_queued_messages 2000\n` +
      `persistent_client_expiration 14d\nlog_dest stdout\nlog_type error\nlog_type warning\n` +
      `log_timestamp_format %Y-%m-%dT%H:%M:%S\nconnection_messages false\nsys_interval 0\n\n` +
      `listener ${p} 127.0.0.1\nmax_connections 50\nmax_qos 1\nmount_point tenant/\nallow_anonymous true\n`,
    accepted: true,
  },
  {
    name: 'per-listener security',
    text: (p) => `per_listener_settings true\nlistener ${p}\nallow_anonymous true\nauto_id_prefix x-\n`,
    accepted: true,
  },
  { name: 'trailing comment word', text: (p) => `listener ${p} # plain MQTT\n`, accepted: true },
  { name: 'unknown option', text: (p) => `listener ${p}\nfoo bar\n`, accepted: false },
  { name: 'bad boolean', text: (p) => `listener ${p}\nallow_anonymous yes\n`, accepted: false },
  { name: 'listener without port', text: () => 'listener\n', accepted: false },
  { name: 'port out of range', text: () => 'listener 70000\n', accepted: false },
  { name: 'max_keepalive too low', text: (p) => `max_keepalive 5\nlistener ${p}\n`, accepted: false },
  { name: 'max_qos 3', text: (p) => `listener ${p}\nmax_qos 3\n`, accepted: false },
  { name: 'bad protocol', text: (p) => `listener ${p}\nprotocol http\n`, accepted: false },
  { name: 'mount_point before listener', text: (p) => `mount_point a/\nlistener ${p}\n`, accepted: false },
  {
    name: 'per_listener_settings late',
    text: (p) => `listener ${p}\nallow_anonymous true\nper_listener_settings true\n`,
    accepted: false,
  },
  { name: 'bad log_dest', text: (p) => `log_dest bogus\nlistener ${p}\n`, accepted: false },
  {
    name: 'duration without unit',
    text: (p) => `persistent_client_expiration 2\nlistener ${p}\n`,
    accepted: false,
  },
  { name: 'port 0 without socket path', text: () => 'listener 0\n', accepted: false },
  { name: 'indented comment', text: (p) => `  # comment\nlistener ${p}\n`, accepted: false },
  { name: 'plugin option without plugin', text: (p) => `plugin_opt_x y\nlistener ${p}\n`, accepted: false },
  // Options Mosquitto 2.0.11 still reads under other names, or only warns about.
  { name: 'maximum_qos', text: (p) => `listener ${p} 127.0.0.1\nmaximum_qos 1\n`, accepted: true },
  { name: 'maximum_qos 3', text: (p) => `listener ${p} 127.0.0.1\nmaximum_qos 3\n`, accepted: false },
  {
    name: 'retained_persistence',
    text: (p) => `listener ${p} 127.0.0.1\nretained_persistence false\n`,
    accepted: true,
  },
  {
    name: 'retained_persistence bad',
    text: (p) => `listener ${p} 127.0.0.1\nretained_persistence maybe\n`,
    accepted: false,
  },
  { name: 'retry_interval', text: (p) => `retry_interval 20\nlistener ${p} 127.0.0.1\n`, accepted: true },
  { name: 'retry_interval bare', text: (p) => `listener ${p} 127.0.0.1\nretry_interval\n`, accepted: true },
  { name: 'memory_limit', text: (p) => `memory_limit 500000000\nlistener ${p} 127.0.0.1\n`, accepted: true },
  {
    name: 'memory_limit negative',
    text: (p) => `memory_limit -5\nlistener ${p} 127.0.0.1\n`,
    accepted: false,
  },
];

test('Culex and Mosquitto 2.0 accept and refuse the same files', async (t) => {
  if (!hasMosquitto) {
    if (process.env.CI === 'true') assert.fail('mosquitto is not installed');
    t.skip('mosquitto not installed');
    return;
  }
  for (const c of CASES) {
    const file = join(dir, `${c.name.replaceAll(' ', '-')}.conf`);
    writeFileSync(file, c.text(await freePort()));
    const [mosquitto, culex] = [await mosquittoAccepts(file), culexAccepts(file)];
    assert.equal(mosquitto, c.accepted, `mosquitto on "${c.name}"`);
    assert.equal(culex, c.accepted, `culex on "${c.name}"`);
  }
});
