// Every way a configuration is refused: the error names the file, the line and the option, with a reason.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ConfigError, ConfigErrorCode } from '../../src/config/config-error.js';
import { parseConfigFile, parseConfigText } from '../../src/config/parse.js';

function refuse(
  text: string,
  expected: { line: number; option?: string; code: ConfigErrorCode; message: string | RegExp },
) {
  let caught: unknown;
  try {
    parseConfigText(text, 'bad.conf');
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError for ${JSON.stringify(text)}`);
  assert.equal(caught.file, 'bad.conf');
  assert.equal(caught.line, expected.line);
  assert.equal(caught.option, expected.option);
  assert.equal(caught.code, expected.code);
  if (typeof expected.message === 'string') assert.equal(caught.message, expected.message);
  else assert.match(caught.message, expected.message);
}

test('unknown option', () => {
  refuse('listener 1883\n\nfoo bar\n', {
    line: 3,
    option: 'foo',
    code: ConfigErrorCode.unknownOption,
    message: 'bad.conf:3: option "foo": unknown option',
  });
  refuse('LISTENER 1883\n', {
    line: 1,
    option: 'LISTENER',
    code: ConfigErrorCode.unknownOption,
    message: /unknown option/,
  });
  refuse('  # indented comment\n', {
    line: 1,
    option: '#',
    code: ConfigErrorCode.unknownOption,
    message: /first column/,
  });
  refuse('listener\t1883\n', {
    line: 1,
    option: 'listener\t1883',
    code: ConfigErrorCode.unknownOption,
    message: /tabs/,
  });
});

test('unsupported options are refused by name', () => {
  refuse('listener 1883\nconnection b\naddress 127.0.0.1\nbridge_require_ocsp true\n', {
    line: 4,
    option: 'bridge_require_ocsp',
    code: ConfigErrorCode.invalidValue,
    message: /cannot verify OCSP/,
  });
  refuse('listener 8883\ntls_engine pkcs11\n', {
    line: 2,
    option: 'tls_engine',
    code: ConfigErrorCode.unsupportedOption,
    message: /^bad\.conf:2: option "tls_engine" is not supported yet by Culex/,
  });
});

test('bad booleans, numbers and enumerations', () => {
  refuse('allow_anonymous yes\n', {
    line: 1,
    option: 'allow_anonymous',
    code: ConfigErrorCode.invalidValue,
    message: 'bad.conf:1: option "allow_anonymous": expected "true" or "false", got "yes"',
  });
  refuse('max_inflight_messages 10x\n', {
    line: 1,
    option: 'max_inflight_messages',
    code: ConfigErrorCode.invalidValue,
    message: 'bad.conf:1: option "max_inflight_messages": expected an integer, got "10x"',
  });
  refuse('max_keepalive 5\n', {
    line: 1,
    option: 'max_keepalive',
    code: ConfigErrorCode.invalidValue,
    message: 'bad.conf:1: option "max_keepalive": 5 is out of range (10..65535)',
  });
  refuse('listener 70000\n', {
    line: 1,
    option: 'listener',
    code: ConfigErrorCode.invalidValue,
    message: /out of range/,
  });
  refuse('listener 1883\nmax_qos 3\n', {
    line: 2,
    option: 'max_qos',
    code: ConfigErrorCode.invalidValue,
    message: /out of range \(0\.\.2\)/,
  });
  refuse('listener 1883\nprotocol http\n', {
    line: 2,
    option: 'protocol',
    code: ConfigErrorCode.invalidValue,
    message: 'bad.conf:2: option "protocol": expected one of "mqtt", "websockets", "http_api", got "http"',
  });
  refuse('log_dest dlt\n', {
    line: 1,
    option: 'log_dest',
    code: ConfigErrorCode.invalidValue,
    message: /dlt/,
  });
  refuse('log_dest file\n', {
    line: 1,
    option: 'log_dest',
    code: ConfigErrorCode.invalidValue,
    message: /path/,
  });
  refuse('persistent_client_expiration 30\n', {
    line: 1,
    option: 'persistent_client_expiration',
    code: ConfigErrorCode.invalidValue,
    message: /h, d, w, m or y/,
  });
  refuse('log_type error warning\n', {
    line: 1,
    option: 'log_type',
    code: ConfigErrorCode.invalidValue,
    message: /extra value "warning"/,
  });
});

test('missing argument', () => {
  refuse('listener 1883\nmax_connections\n', {
    line: 2,
    option: 'max_connections',
    code: ConfigErrorCode.missingValue,
    message: 'bad.conf:2: option "max_connections": missing value',
  });
  refuse('listener\n', {
    line: 1,
    option: 'listener',
    code: ConfigErrorCode.missingValue,
    message: /missing value/,
  });
  refuse('listener 0\n', {
    line: 1,
    option: 'listener',
    code: ConfigErrorCode.invalidValue,
    message: /Unix socket path/,
  });
});

test('listener-scoped options before any listener, as Mosquitto 2.0 treats them', () => {
  // Mosquitto refuses mount_point on the implicit listener.
  refuse('mount_point site/\nlistener 1883\n', {
    line: 1,
    option: 'mount_point',
    code: ConfigErrorCode.misplacedOption,
    message: 'bad.conf:1: option "mount_point": needs a "listener" line before it',
  });
  // Mosquitto silently drops an http_dir given to a default listener that nothing enables; Culex says so.
  refuse('http_dir /srv/www\nlistener 9001\nprotocol websockets\n', {
    line: 1,
    option: 'http_dir',
    code: ConfigErrorCode.misplacedOption,
    message: /default listener, which this file never enables/,
  });
  refuse('per_listener_settings true\nallow_anonymous true\nlistener 1883\n', {
    line: 2,
    option: 'allow_anonymous',
    code: ConfigErrorCode.misplacedOption,
    message: /default listener/,
  });
});

test('per_listener_settings after a security option', () => {
  refuse('listener 1883\nallow_anonymous true\nper_listener_settings true\n', {
    line: 3,
    option: 'per_listener_settings',
    code: ConfigErrorCode.invalidValue,
    message: /before any other security option/,
  });
});

test('plugin options need a plugin; TLS needs certfile and keyfile together', () => {
  refuse('plugin_opt_x y\nlistener 1883\n', {
    line: 1,
    option: 'plugin_opt_x',
    code: ConfigErrorCode.invalidValue,
    message: /no "plugin"/,
  });
  refuse('listener 8883\ncertfile /c.pem\n', {
    line: 1,
    option: 'listener',
    code: ConfigErrorCode.invalidValue,
    message: /both "certfile" and "keyfile"/,
  });
});

const dir = mkdtempSync(join(tmpdir(), 'culex-config-err-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('file errors: missing file, missing include_dir, nested include_dir', () => {
  const missing = join(dir, 'nope.conf');
  assert.throws(() => parseConfigFile(missing), { code: ConfigErrorCode.fileError, file: missing, line: 0 });
  const main = join(dir, 'm.conf');
  writeFileSync(main, `listener 1883\ninclude_dir ${join(dir, 'absent.d')}\n`);
  assert.throws(() => parseConfigFile(main), {
    code: ConfigErrorCode.fileError,
    file: main,
    line: 2,
    option: 'include_dir',
  });
  const inc = join(dir, 'nested.d');
  mkdirSync(inc);
  writeFileSync(join(inc, 'a.conf'), `include_dir ${dir}\n`);
  writeFileSync(main, `include_dir ${inc}\n`);
  assert.throws(() => parseConfigFile(main), {
    code: ConfigErrorCode.misplacedOption,
    file: join(inc, 'a.conf'),
    line: 1,
    message: /only allowed in the main configuration file/,
  });
});
