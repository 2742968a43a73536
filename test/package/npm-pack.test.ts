// The npm tarball is product: packed from a fresh copy of the sources (no dist/ yet), it must build itself
// (prepack), ship the compiled broker, the dashboard bundle, its bins, LICENSE and CHANGELOG but no tests, and
// start from the unpacked package as `culex -c mosquitto.conf` does after `npm install culex-mqtt`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { freePort } from '../helpers/net.js';
import { launchWith, tempDir, writeConf } from '../helpers/processes.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** What a fresh clone does not have: build output, installed modules, git metadata, local artefacts. */
const NOT_IN_A_CLONE = new Set(['dist', 'node_modules', '.git']);

interface PackResult {
  filename: string;
  files: { path: string }[];
}

function freshCopy(): string {
  const copy = join(tempDir('culex-pack-'), 'src');
  cpSync(root, copy, {
    recursive: true,
    filter: (path) => {
      const top = relative(root, path).split('/')[0] ?? '';
      return !NOT_IN_A_CLONE.has(top) && !top.endsWith('.tgz');
    },
  });
  // Dependencies as `npm ci` would install them (no network in tests).
  symlinkSync(join(root, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

test('npm pack from a fresh clone builds dist and ships a package that starts as `culex -c file`', async () => {
  const copy = freshCopy();
  assert.equal(existsSync(join(copy, 'dist')), false);
  const out = join(copy, '..');
  const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', out], {
    cwd: copy,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false' },
  });
  assert.equal(packed.status, 0, `npm pack failed:\n${packed.stdout}${packed.stderr}`);
  // The prepack build's own output precedes the JSON on stdout.
  const json = packed.stdout.slice(packed.stdout.search(/^\[/m));
  const [result] = JSON.parse(json) as PackResult[];
  assert.ok(result !== undefined);
  const files = new Set(result.files.map((f) => f.path));
  for (const required of [
    'package.json',
    'LICENSE',
    'CHANGELOG.md',
    'README.md',
    'bin/culex.js',
    'bin/culex-passwd.js',
    'dist/src/index.js',
    'dist/src/index.d.ts',
    'dist/src/protocol/index.js',
    'dist/src/cli/main.js',
    'dist/dashboard/index.html',
    'packaging/systemd/culex.service',
  ]) {
    assert.ok(files.has(required), `${required} missing from the tarball`);
  }
  const stray = [...files].filter(
    (f) => f.startsWith('dist/test/') || f.startsWith('dist/bench/') || f.endsWith('.map'),
  );
  assert.deepEqual(stray, [], 'tests, benchmarks or source maps in the tarball');
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  assert.match(license, /^MIT License/);
  assert.match(license, /The Culex authors/);
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    license: string;
    name: string;
    bin: Record<string, string>;
  };
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.name, 'culex-mqtt');
  // `npx culex-mqtt -c file` runs the bin named after the package.
  assert.equal(pkg.bin['culex-mqtt'], './bin/culex.js');
  assert.equal(pkg.bin.culex, './bin/culex.js');

  // Unpack as npm install would, and run the bin with a configuration file.
  const installed = join(out, 'installed');
  mkdirSync(installed);
  const untar = spawnSync('tar', [
    '-xzf',
    join(out, result.filename),
    '-C',
    installed,
    '--strip-components=1',
  ]);
  assert.equal(untar.status, 0, String(untar.stderr));
  symlinkSync(join(root, 'node_modules'), join(installed, 'node_modules'));
  const port = await freePort();
  const conf = writeConf(out, port, ['allow_anonymous true']);
  const broker = await launchWith(
    process.execPath,
    (c) => [join(installed, 'bin/culex.js'), '-c', c],
    conf,
    port,
  );
  try {
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const got = new Promise<string>((resolve) => client.on('message', (_t, p) => resolve(p.toString())));
    await client.subscribeAsync('packed/#', { qos: 1 });
    await client.publishAsync('packed/hello', 'from the tarball', { qos: 1 });
    assert.equal(await got, 'from the tarball');
    await client.endAsync();
    assert.match(broker.log(), /culex version 0\.1\.0 running/);
  } finally {
    await broker.stop();
  }
});
