// Mosquitto 2.1 options in mosquitto.conf. Debian ships 2.0.11, so each follows the 2.1 manual's words (and
// 2.1's conf.c where the manual is silent); the names say so.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/parse.js';

function refusal(text: string): ConfigError {
  try {
    parseConfigText(text, 'bad.conf');
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`expected a refusal of ${JSON.stringify(text)}`);
}

test('2.1 manual: accept_protocol_versions takes a comma/space separated list and needs a listener', () => {
  const c = parseConfigText('listener 1883\naccept_protocol_versions 5, 4\nlistener 1884\n', 'a.conf');
  assert.deepEqual(c.listeners[0]?.acceptProtocolVersions, [4, 5]);
  assert.equal(c.listeners[1]?.acceptProtocolVersions, undefined);
  const before = refusal('accept_protocol_versions 5\nlistener 1883\n');
  assert.equal(before.line, 1);
  assert.equal(refusal('listener 1883\naccept_protocol_versions 6\n').line, 2);
});

test('2.1 manual: enable_proxy_protocol is 1 or 2, proxy_protocol_v2_require_tls a boolean', () => {
  const c = parseConfigText(
    'listener 1883\nenable_proxy_protocol 2\nproxy_protocol_v2_require_tls true\n',
    'p.conf',
  );
  assert.equal(c.listeners[0]?.proxyProtocol, 2);
  assert.equal(c.listeners[0]?.proxyProtocolV2RequireTls, true);
  assert.match(refusal('listener 1883\nenable_proxy_protocol 3\n').message, /must be 1 or 2/);
  // Culex reads PROXY headers on plain MQTT listeners only: refused with the listener's line.
  const ws = refusal('listener 1883\nlistener 9001\nprotocol websockets\nenable_proxy_protocol 1\n');
  assert.equal(ws.line, 2);
  assert.match(ws.message, /not supported yet by Culex on a WebSocket listener/);
});

test('2.1 manual: listener_allow_anonymous and listener_auto_id_prefix set one listener only', () => {
  const c = parseConfigText(
    'allow_anonymous false\nlistener 1883\nlistener_allow_anonymous true\nlistener_auto_id_prefix l1-\nlistener 1884\n',
    'l.conf',
  );
  assert.equal(c.broker.allowAnonymous, false);
  assert.equal(c.listeners[0]?.allowAnonymous, true);
  assert.equal(c.listeners[0]?.autoIdPrefix, 'l1-');
  assert.equal(c.listeners[1]?.allowAnonymous, undefined);
  // Under per_listener_settings the listener's own security carries them.
  const p = parseConfigText(
    'per_listener_settings true\nlistener 1883\nallow_anonymous false\nlistener_allow_anonymous true\n',
    'p.conf',
  );
  assert.equal(p.listeners[0]?.security?.allowAnonymous, true);
  assert.match(refusal(`listener 1883\nlistener_auto_id_prefix ${'x'.repeat(51)}\n`).message, /<= 50/);
});

test('2.1 manual: persistent_client_expiration also reads seconds ("s"), which 2.0.11 refuses', () => {
  const c = parseConfigText('persistent_client_expiration 90s\n', 'e.conf');
  assert.equal(c.broker.persistentClientExpiration, 90);
  assert.equal(
    parseConfigText('persistent_client_expiration 2h\n', 'e.conf').broker.persistentClientExpiration,
    7200,
  );
});

test('2.1 manual: websockets_origin may be repeated on a listener', () => {
  const c = parseConfigText(
    'listener 9001\nprotocol websockets\nwebsockets_origin https://a.test\nwebsockets_origin https://b.test\n',
    'w.conf',
  );
  assert.deepEqual(c.listeners[0]?.websocketsOrigins, ['https://a.test', 'https://b.test']);
});

test('2.1 manual: global_plugin, plugin_load + plugin_use, with their plugin_opt_ lines', () => {
  const c = parseConfigText(
    'per_listener_settings true\n' +
      'global_plugin /usr/lib/g.so\nplugin_opt_g 1\n' +
      'plugin_load acl /usr/lib/acl.so\nplugin_opt_acl_file /etc/acl\n' +
      'listener 1883\nplugin_use acl\nlistener 1884\n',
    'g.conf',
  );
  const global = c.plugins.find((p) => p.path === '/usr/lib/g.so');
  assert.deepEqual(global?.options, { g: '1' });
  assert.equal(global?.listenerIndex, undefined);
  const used = c.plugins.filter((p) => p.path === '/usr/lib/acl.so');
  assert.equal(used.length, 1);
  assert.equal(used[0]?.listenerIndex, 0);
  assert.deepEqual(used[0]?.options, { acl_file: '/etc/acl' });
  assert.match(
    refusal('per_listener_settings true\nlistener 1883\nplugin_use nope\n').message,
    /Plugin 'nope' not previously loaded/,
  );
  assert.equal(refusal('plugin_load a /a.so\nlistener 1883\nplugin_use a\n').line, 3);
});
