// Command-line flags: Mosquitto's -c -d -p -v -h, Culex extras, and the -p / -v rules of buildConfig.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  buildConfig,
  type CliArgs,
  CliArgsError,
  CliArgsErrorCode,
  parseArgs,
  usage,
} from '../../src/cli/args.js';
import { ConfigError } from '../../src/config/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'culex-args-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function args(argv: string[]): CliArgs {
  const parsed = parseArgs(argv);
  assert.ok(!('help' in parsed));
  return parsed;
}

test('short and long flags', () => {
  assert.deepEqual(args([]), { daemon: false, ports: [], verbose: false, quiet: false, testConfig: false });
  assert.deepEqual(
    args(['-c', 'a.conf', '-d', '-p', '1884', '--port', '1885', '-v', '--test-config', '--check-db', 'x.db']),
    {
      configFile: 'a.conf',
      daemon: true,
      ports: [1884, 1885],
      verbose: true,
      quiet: false,
      testConfig: true,
      checkDb: 'x.db',
    },
  );
  assert.equal(args(['--config-file', 'b.conf', '--daemon', '--verbose']).configFile, 'b.conf');
  assert.deepEqual(parseArgs(['-p', '1884', '-h']), { help: true });
  assert.deepEqual(parseArgs(['--help']), { help: true });
  assert.match(usage('1.2.3'), /^culex version 1\.2\.3\n[\s\S]*-c, --config-file/);
});

test('bad flags are typed errors with Mosquitto-like messages', () => {
  assert.throws(
    () => parseArgs(['-x']),
    (err: unknown) => {
      assert.ok(err instanceof CliArgsError);
      assert.equal(err.code, CliArgsErrorCode.unknownOption);
      assert.match(err.message, /^Unknown option '-x'\.\n\n[\s\S]*Usage: culex/);
      return true;
    },
  );
  assert.throws(() => parseArgs(['-c']), {
    code: CliArgsErrorCode.missingValue,
    message: '-c argument given, but no config file specified.',
  });
  assert.throws(() => parseArgs(['-p']), {
    code: CliArgsErrorCode.missingValue,
    message: '-p argument given, but no port specified.',
  });
  for (const bad of ['abc', '0', '70000', '-1', '1883x']) {
    assert.throws(() => parseArgs(['-p', bad]), {
      code: CliArgsErrorCode.invalidPort,
      message: `Invalid port specified (${bad}).`,
    });
  }
  const eleven = Array.from({ length: 11 }, (_, i) => ['-p', String(2000 + i)]).flat();
  assert.throws(() => parseArgs(eleven), { code: CliArgsErrorCode.tooManyPorts });
});

test('no -c: Mosquitto defaults, local only on 1883; -p replaces the port, still loopback only', () => {
  const plain = buildConfig(args([]));
  assert.equal(plain.localOnly, true);
  assert.deepEqual(
    plain.listeners.map((l) => [l.host, l.port]),
    [
      ['127.0.0.1', 1883],
      ['::1', 1883],
    ],
  );
  const ports = buildConfig(args(['-p', '1884', '-p', '1885']));
  assert.deepEqual(
    ports.listeners.map((l) => [l.host, l.port]),
    [
      ['127.0.0.1', 1884],
      ['::1', 1884],
      ['127.0.0.1', 1885],
      ['::1', 1885],
    ],
  );
  assert.equal(ports.broker.allowAnonymous, true);
});

test('-p with a file: used when the file has no listener, ignored when it has one', () => {
  const noListener = join(dir, 'log.conf');
  writeFileSync(noListener, 'log_type error\n');
  const a = buildConfig(args(['-c', noListener, '-p', '1890']));
  assert.deepEqual(
    a.listeners.map((l) => [l.host, l.port]),
    [
      ['127.0.0.1', 1890],
      ['::1', 1890],
    ],
  );
  const withListener = join(dir, 'listener.conf');
  writeFileSync(withListener, 'listener 1891\n');
  const b = buildConfig(args(['-c', withListener, '-p', '1892']));
  assert.deepEqual(
    b.listeners.map((l) => [l.host, l.port]),
    [[undefined, 1891]],
  );
  assert.match(b.warnings.join('\n'), /-p option is ignored/);
  // The implicit default listener (here through `port`) counts as a listener too.
  const port = join(dir, 'port.conf');
  writeFileSync(port, 'port 1893\n');
  assert.deepEqual(
    buildConfig(args(['-c', port, '-p', '1894'])).listeners.map((l) => l.port),
    [1893],
  );
});

test('-v sets log_type all over the file; a bad file throws ConfigError', () => {
  const file = join(dir, 'quiet.conf');
  writeFileSync(file, 'log_type error\nlistener 1895\n');
  assert.deepEqual([...buildConfig(args(['-c', file, '-v'])).log.types], ['all']);
  assert.deepEqual([...buildConfig(args(['-c', file])).log.types], ['error']);
  assert.throws(() => buildConfig(args(['-c', join(dir, 'missing.conf')])), ConfigError);
});
