// mosquitto.conf parsing: a realistic file, per-listener settings, include_dir, repeated options, defaults.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultBrokerOptions } from '../../src/broker/options.js';
import { parseConfigFile, parseConfigText } from '../../src/config/parse.js';

const dir = mkdtempSync(join(tmpdir(), 'culex-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const REALISTIC = `# Culex test configuration
per_listener_settings true
max_inflight_messages 50
max_queued_messages 5000
persistent_client_expiration 2d
persistence true
persistence_location /var/lib/culex/
log_dest stdout
log_dest file /var/log/culex.log
log_type error
log_type warning
log_timestamp_format %Y-%m-%dT%H:%M:%S %z
set_tcp_nodelay true

listener 1883 0.0.0.0
allow_anonymous true
max_connections 100

listener 8883
certfile /etc/culex/server.crt
keyfile /etc/culex/server.key
cafile /etc/culex/ca.crt
require_certificate true
use_identity_as_username true
tls_version tlsv1.2
password_file /etc/culex/passwd
acl_file /etc/culex/acl

listener 9001
protocol websockets
mount_point site1/
max_qos 1

listener 0 /run/culex.sock
`;

test('a realistic file: global options, three TCP listeners and a Unix socket', () => {
  const c = parseConfigText(REALISTIC, 'real.conf');
  assert.equal(c.localOnly, false);
  assert.equal(c.perListenerSettings, true);
  assert.equal(c.broker.maxInflightMessages, 50);
  assert.equal(c.broker.maxQueuedMessages, 5000);
  assert.equal(c.broker.persistentClientExpiration, 2 * 86400);
  assert.deepEqual(c.persistence, {
    enabled: true,
    location: '/var/lib/culex/',
    file: 'mosquitto.db',
    autosaveInterval: 1800,
    autosaveOnChanges: false,
  });
  assert.deepEqual(c.log.dest, [{ kind: 'stdout' }, { kind: 'file', path: '/var/log/culex.log' }]);
  assert.deepEqual([...c.log.types], ['error', 'warning']);
  assert.equal(c.log.timestampFormat, '%Y-%m-%dT%H:%M:%S %z');
  assert.equal(c.listeners.length, 4);
  const [plain, tls, ws, unix] = c.listeners;
  assert.equal(plain?.port, 1883);
  assert.equal(plain?.host, '0.0.0.0');
  assert.equal(plain?.maxConnections, 100);
  assert.equal(plain?.setTcpNodelay, true);
  assert.equal(plain?.security?.allowAnonymous, true);
  assert.equal(plain?.tls, undefined);
  assert.equal(tls?.port, 8883);
  assert.equal(tls?.host, undefined);
  assert.deepEqual(tls?.tls, {
    requireCertificate: true,
    useIdentityAsUsername: true,
    useSubjectAsUsername: false,
    certfile: '/etc/culex/server.crt',
    keyfile: '/etc/culex/server.key',
    cafile: '/etc/culex/ca.crt',
    tlsVersion: 'tlsv1.2',
  });
  // per_listener_settings: security options went to the listener they follow, anonymous defaults to off.
  assert.equal(tls?.security?.passwordFile, '/etc/culex/passwd');
  assert.equal(tls?.security?.aclFile, '/etc/culex/acl');
  assert.equal(tls?.security?.allowAnonymous, false);
  assert.equal(plain?.security?.passwordFile, undefined);
  assert.equal(ws?.protocol, 'websockets');
  assert.equal(ws?.mountPoint, 'site1/');
  assert.equal(ws?.maxQos, 1);
  assert.equal(unix?.port, 0);
  assert.equal(unix?.unixSocketPath, '/run/culex.sock');
});

test('per_listener_settings false: security options are global whatever their position', () => {
  const c = parseConfigText(
    'listener 1883\nlistener 1884\nallow_anonymous true\npassword_file /p\n',
    'g.conf',
  );
  assert.equal(c.broker.allowAnonymous, true);
  assert.equal(c.broker.passwordFile, '/p');
  assert.ok(c.listeners.every((l) => l.security === undefined));
});

test('comments, blank lines, CRLF, leading spaces and trailing "#" words', () => {
  const c = parseConfigText(
    '# top\r\n\r\n   \n  listener 1883 # main port\r\nallow_anonymous true\n',
    'c.conf',
  );
  assert.equal(c.listeners[0]?.port, 1883);
  assert.equal(c.listeners[0]?.host, undefined);
  assert.equal(c.broker.allowAnonymous, true);
});

test('repeated log_dest: none clears, duplicates collapse; log_type all and none', () => {
  const c = parseConfigText(
    'log_dest stderr\nlog_dest none\nlog_dest topic\nlog_dest topic\nlog_type all\n',
    'l.conf',
  );
  assert.deepEqual(c.log.dest, [{ kind: 'topic' }]);
  assert.deepEqual([...c.log.types], ['all']);
  const none = parseConfigText('log_dest none\nlog_type debug\nlog_type none\n', 'n.conf');
  assert.deepEqual(none.log.dest, [{ kind: 'none' }]);
  assert.deepEqual([...none.log.types], ['none']);
});

test('defaults with no listener: Mosquitto 2.0 local only mode on 127.0.0.1 and ::1 port 1883, anonymous allowed', () => {
  const c = parseConfigText('', 'empty.conf');
  assert.equal(c.localOnly, true);
  assert.deepEqual(
    c.listeners.map((l) => [l.host, l.port]),
    [
      ['127.0.0.1', 1883],
      ['::1', 1883],
    ],
  );
  assert.equal(c.broker.allowAnonymous, true);
  assert.equal(c.broker.maxInflightMessages, 20);
  assert.equal(c.broker.maxQueuedMessages, 1000);
  assert.equal(c.broker.maxKeepalive, 65535);
  assert.equal(c.broker.connectionMessages, true);
  assert.equal(c.persistence.autosaveInterval, 1800);
  assert.equal(c.persistence.file, 'mosquitto.db');
  assert.equal(c.persistence.enabled, false);
  assert.deepEqual(c.log.dest, [{ kind: 'stderr' }]);
  assert.deepEqual([...c.log.types], ['error', 'warning', 'notice', 'information']);
  assert.equal(c.log.timestamp, true);
  // Culex batches writes itself, so TCP_NODELAY is on unless set_tcp_nodelay false (docs/compatibility.md).
  assert.equal(c.setTcpNodelay, true);
  assert.equal(c.sysInterval, 10);
  assert.equal(c.listeners[0]?.maxConnections, -1);
  // Mosquitto lets anonymous clients in on the local-only listeners even with allow_anonymous false.
  const forced = parseConfigText('allow_anonymous false\n', 'f.conf');
  assert.equal(forced.broker.allowAnonymous, true);
  assert.equal(forced.warnings.length, 1);
});

test('defaults with a listener: allow_anonymous becomes false unless set', () => {
  const c = parseConfigText('listener 1883\n', 'one.conf');
  assert.equal(c.localOnly, false);
  assert.equal(c.broker.allowAnonymous, false);
  assert.deepEqual(
    c.listeners.map((l) => [l.host, l.port]),
    [[undefined, 1883]],
  );
  const { allowAnonymous: _a, ...rest } = c.broker;
  const { allowAnonymous: _b, ...expected } = defaultBrokerOptions;
  assert.deepEqual(rest, expected);
});

test('listener options before any listener configure the default listener on all interfaces (Mosquitto 2.0)', () => {
  const c = parseConfigText('max_connections 5\nlistener 1884\n', 'd.conf');
  assert.deepEqual(
    c.listeners.map((l) => [l.host, l.port, l.maxConnections]),
    [
      [undefined, 1883, 5],
      [undefined, 1884, -1],
    ],
  );
  // port and bind_address always address the default listener, even after other listeners.
  const p = parseConfigText('listener 1884 127.0.0.1\nport 1885\nbind_address 0.0.0.0\n', 'p.conf');
  assert.deepEqual(
    p.listeners.map((l) => [l.host, l.port]),
    [
      ['0.0.0.0', 1885],
      ['127.0.0.1', 1884],
    ],
  );
  assert.equal(p.warnings.length, 2);
  // A default that does not enable the default listener (max_connections -1) leaves local only mode on.
  assert.equal(parseConfigText('max_connections -1\n', 'm.conf').localOnly, true);
});

test('per_listener_settings: security before any listener belongs to the default listener', () => {
  const c = parseConfigText(
    'per_listener_settings true\npassword_file /p\nlistener 1884\nallow_anonymous true\n',
    'd.conf',
  );
  assert.equal(c.listeners[0]?.port, 1883);
  assert.equal(c.listeners[0]?.security?.passwordFile, '/p');
  assert.equal(c.listeners[0]?.security?.allowAnonymous, false);
  assert.equal(c.listeners[1]?.security?.allowAnonymous, true);
  assert.equal(c.listeners[1]?.security?.passwordFile, undefined);
});

test('plugins with their options, per listener under per_listener_settings', () => {
  const c = parseConfigText(
    'per_listener_settings true\nlistener 1883\nplugin /usr/lib/dynsec.so\nplugin_opt_config_file /etc/dynsec.json\n' +
      'auth_opt_query SELECT pw FROM users\nauth_plugin_deny_special_chars false\n',
    'pl.conf',
  );
  assert.deepEqual(c.plugins, [
    {
      path: '/usr/lib/dynsec.so',
      options: { config_file: '/etc/dynsec.json', query: 'SELECT pw FROM users' },
      denySpecialChars: false,
      listenerIndex: 0,
    },
  ]);
});

test('include_dir: *.conf files in Mosquitto order (upper case first), repeated include_dir in order', () => {
  const one = join(dir, 'one.d');
  const two = join(dir, 'two.d');
  mkdirSync(one);
  mkdirSync(two);
  writeFileSync(join(one, 'b.conf'), 'listener 1002\n');
  writeFileSync(join(one, 'B.conf'), 'listener 1001\n');
  writeFileSync(join(one, '00.conf'), 'listener 1000\n');
  writeFileSync(join(one, 'notes.txt'), 'garbage that must not be read\n');
  writeFileSync(join(two, 'A.conf'), 'listener 2000\nlog_dest stdout\n');
  const main = join(dir, 'main.conf');
  writeFileSync(main, `allow_anonymous true\ninclude_dir ${one}\ninclude_dir ${two}\n`);
  const c = parseConfigFile(main);
  assert.deepEqual(
    c.listeners.map((l) => l.port),
    [1000, 1001, 1002, 2000],
  );
  assert.deepEqual(c.files, [
    main,
    join(one, '00.conf'),
    join(one, 'B.conf'),
    join(one, 'b.conf'),
    join(two, 'A.conf'),
  ]);
  assert.deepEqual(c.log.dest, [{ kind: 'stdout' }]);
});

test('include_dir: an error inside an included file names that file and line', () => {
  const inc = join(dir, 'bad.d');
  mkdirSync(inc);
  writeFileSync(join(inc, 'x.conf'), 'listener 1883\n\nallow_anonymous maybe\n');
  const main = join(dir, 'main-bad.conf');
  writeFileSync(main, `include_dir ${inc}\n`);
  assert.throws(() => parseConfigFile(main), {
    name: 'ConfigError',
    file: join(inc, 'x.conf'),
    line: 3,
    option: 'allow_anonymous',
    message: `${join(inc, 'x.conf')}:3: option "allow_anonymous": expected "true" or "false", got "maybe"`,
  });
});

test('Mosquitto 2.0.11 spellings: maximum_qos is max_qos, retained_persistence is persistence, retry_interval warns', () => {
  const c = parseConfigText(
    'retry_interval 20\nretained_persistence true\nlistener 1884 127.0.0.1\nmaximum_qos 1\nretry_interval\n',
    'alias.conf',
  );
  assert.equal(c.listeners[0]?.maxQos, 1);
  assert.equal(c.persistence.enabled, true);
  assert.deepEqual(c.warnings, [
    'Warning: The retry_interval option is no longer available.',
    'Warning: The retry_interval option is no longer available.',
  ]);
});

test('memory_limit goes to the broker, without a warning', () => {
  const c = parseConfigText('memory_limit 1000000\nlistener 1884 127.0.0.1\n', 'mem.conf');
  assert.equal(c.broker.memoryLimit, 1_000_000);
  assert.deepEqual(c.warnings, []);
});
