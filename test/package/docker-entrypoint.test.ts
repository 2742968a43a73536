// The container image's entrypoint and default configuration, run outside Docker (no engine on the test
// machines) over the image's own layout placed under a temporary root: /mosquitto/{config,data,log} become
// <root>/{config,data,log}, and the listeners 1883 / 9001 become free loopback ports. Everything else in the
// default mosquitto.conf is used as shipped.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort, waitFor } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir } from '../helpers/processes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const ENTRYPOINT = join(root, 'packaging/docker/docker-entrypoint.sh');
const DEFAULT_CONF = join(root, 'packaging/docker/mosquitto.conf');
const PASSWD_BIN = join(root, 'bin/culex-passwd.js');

/** The shipped default configuration moved under `dir`, on loopback ports instead of 1883 / 9001. */
function relocatedDefault(dir: string, mqttPort: number, wsPort: number): string {
  const text = readFileSync(DEFAULT_CONF, 'utf8')
    .replaceAll('/mosquitto/', `${dir}/`)
    .replace(/^listener 1883$/m, `listener ${mqttPort} 127.0.0.1`)
    .replace(/^listener 9001$/m, `listener ${wsPort} 127.0.0.1`);
  assert.ok(text.includes(`listener ${mqttPort} 127.0.0.1`) && text.includes(`listener ${wsPort} 127.0.0.1`));
  const path = join(tempDir('culex-default-conf-'), 'mosquitto.conf');
  writeFileSync(path, text);
  return path;
}

function connect(url: string, options: mqtt.IClientOptions): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 2000, ...options });
}

test('entrypoint on an empty /mosquitto: default config and empty pwfile installed, nobody gets in until a user is added', async () => {
  const dir = join(tempDir('culex-docker-root-'), 'mosquitto');
  mkdirSync(dir);
  const mqttPort = await freePort();
  const wsPort = await freePort();
  const defaultConf = relocatedDefault(dir, mqttPort, wsPort);
  const env = { ...process.env, MOSQUITTO_ROOT: dir, CULEX_DEFAULT_CONF: defaultConf };
  let broker: BrokerProcess | undefined;
  try {
    broker = await launchWith(
      '/bin/sh',
      (conf) => [ENTRYPOINT, process.execPath, CULEX_BIN, '-c', conf],
      join(dir, 'config/mosquitto.conf'),
      mqttPort,
      env,
    );
    for (const sub of ['config', 'data', 'log']) assert.ok(statSync(join(dir, sub)).isDirectory(), sub);
    assert.equal(readFileSync(join(dir, 'config/mosquitto.conf'), 'utf8'), readFileSync(defaultConf, 'utf8'));
    const pwfile = join(dir, 'config/pwfile');
    assert.equal(readFileSync(pwfile, 'utf8'), '');
    assert.equal(statSync(pwfile).mode & 0o777, 0o600);

    // allow_anonymous false and an empty password file: anonymous and unknown users are refused.
    await assert.rejects(
      connect(`mqtt://127.0.0.1:${mqttPort}`, {}),
      /Not authorized|Bad username or password/,
    );

    // First run as the README says: add a user, reload with SIGHUP, connect over TCP and WebSockets.
    const added = spawnSync(process.execPath, [PASSWD_BIN, '-b', pwfile, 'alice', 's3cret'], {
      encoding: 'utf8',
    });
    assert.equal(added.status, 0, added.stderr);
    broker.signal('SIGHUP');
    const credentials = { username: 'alice', password: 's3cret' };
    assert.ok(await waitFor(() => broker!.log().includes('Config reloaded.'), 3000), broker.log());
    const tcp = await connect(`mqtt://127.0.0.1:${mqttPort}`, {
      ...credentials,
      clientId: 'tcp',
      clean: false,
    });
    const ws = await connect(`ws://127.0.0.1:${wsPort}`, { ...credentials, clientId: 'ws' });
    const got = new Promise<string>((resolve) => tcp.on('message', (_t, p) => resolve(p.toString())));
    await tcp.subscribeAsync('docker/#', { qos: 1 });
    await ws.publishAsync('docker/hello', 'over websockets', { qos: 1, retain: true });
    assert.equal(await got, 'over websockets');
    await ws.endAsync();
    await tcp.endAsync();
  } finally {
    await broker?.stop();
  }
  // Persistence and the log file land in the image's data and log directories.
  assert.ok(existsSync(join(dir, 'data/mosquitto.db')), 'no database in data/');
  const log = readFileSync(join(dir, 'log/mosquitto.log'), 'utf8');
  assert.match(log, /culex version \S+ running/);
  assert.match(log, /New client connected from 127\.0\.0\.1:\d+ as tcp/);
});

test('entrypoint passes flags to culex and keeps a mounted configuration', () => {
  const dir = tempDir('culex-docker-flags-');
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config/mosquitto.conf'), 'listener 1 127.0.0.1\n');
  // `docker run culex-mqtt -h`: the entrypoint runs `culex -h` (Mosquitto's usage, exit status 3).
  const fakeBin = tempDir('culex-docker-bin-');
  writeFileSync(join(fakeBin, 'culex'), `#!/bin/sh\nexec "${process.execPath}" "${CULEX_BIN}" "$@"\n`, {
    mode: 0o755,
  });
  const env = { ...process.env, MOSQUITTO_ROOT: dir, PATH: `${fakeBin}:${process.env.PATH ?? ''}` };
  const help = spawnSync('/bin/sh', [ENTRYPOINT, '-h'], { env, encoding: 'utf8' });
  assert.equal(help.status, 3, help.stderr);
  assert.match(help.stdout, /^culex version/);
  assert.equal(readFileSync(join(dir, 'config/mosquitto.conf'), 'utf8'), 'listener 1 127.0.0.1\n');
});

test('Dockerfile and compose file: eclipse-mosquitto layout, multi-stage, non-root, files that exist', () => {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const stages = [...dockerfile.matchAll(/^FROM (\S+)(?: AS (\S+))?$/gm)];
  assert.equal(stages.length, 2, 'a build stage and a run stage');
  assert.match(stages[1]![1]!, /^node:\$\{NODE_VERSION\}-bookworm-slim$/);
  assert.match(dockerfile, /^COPY --from=build \/opt\/culex \/opt\/culex$/m);
  // The run stage ends as the unprivileged user with eclipse-mosquitto's uid.
  assert.match(dockerfile, /--uid 1883 --gid mosquitto/);
  assert.match(dockerfile, /^USER mosquitto$/m);
  assert.match(dockerfile, /^EXPOSE 1883 9001$/m);
  assert.match(dockerfile, /^VOLUME \["\/mosquitto\/data", "\/mosquitto\/log"\]$/m);
  assert.match(dockerfile, /^CMD \["culex", "-c", "\/mosquitto\/config\/mosquitto\.conf"\]$/m);
  for (const [, source] of dockerfile.matchAll(/^COPY (?!--from)(\S+) /gm)) {
    if (source !== '.') assert.ok(existsSync(join(root, source!)), `COPY ${source}: no such file`);
  }
  // The entrypoint's default configuration is where the packed tarball puts it under /opt/culex.
  const entrypoint = readFileSync(ENTRYPOINT, 'utf8');
  assert.match(entrypoint, /\/opt\/culex\/packaging\/docker\/mosquitto\.conf/);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] };
  assert.ok(pkg.files.includes('packaging'), 'packaging/ is in the npm tarball');

  const compose = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
  for (const line of [
    '"1883:1883"',
    '"9001:9001"',
    './config:/mosquitto/config',
    './data:/mosquitto/data',
    './log:/mosquitto/log',
  ]) {
    assert.ok(compose.includes(`- ${line}`), `compose file lacks ${line}`);
  }
});
