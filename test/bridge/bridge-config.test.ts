// `connection` sections: Mosquitto's defaults, every `topic` form with its remapping, and the refusals.

import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { toLocal, toRemote } from '../../src/bridge/topic-map.js';
import { ConfigError } from '../../src/config/parse.js';
import { bridgesFrom } from './bridge-helpers.js';

test('defaults as Mosquitto 2.0 sets them', () => {
  const [b] = bridgesFrom(['connection br', 'address 127.0.0.1', 'topic #']);
  assert.ok(b !== undefined);
  assert.deepEqual(b.addresses, [{ host: '127.0.0.1', port: 1883 }]);
  assert.equal(b.remoteClientId, `${hostname()}.br`);
  assert.equal(b.localClientId, `local.${hostname()}.br`);
  assert.equal(b.notificationTopic, `$SYS/broker/connection/${hostname()}.br/state`);
  assert.deepEqual(b.restartTimeout, { kind: 'jitter', base: 5, cap: 30 });
  assert.deepEqual(
    [b.protocolVersion, b.cleanSession, b.localCleanSession, b.keepaliveInterval, b.tryPrivate, b.startType],
    [4, false, false, 60, true, 'automatic'],
  );
  assert.deepEqual(b.topics[0], {
    pattern: '#',
    direction: 'out',
    qos: 0,
    localPrefix: '',
    remotePrefix: '',
    localTopic: '#',
    remoteTopic: '#',
  });
  assert.equal(b.tls, undefined);
});

test('every option of a section is read', () => {
  const [b] = bridgesFrom([
    'connection full',
    'addresses 127.0.0.1:1884 [::1]:1885',
    'round_robin true',
    'bridge_protocol_version mqttv50',
    'cleansession true',
    'local_cleansession false',
    'remote_clientid r',
    'local_clientid l',
    'remote_username ru',
    'remote_password rp',
    'local_username lu',
    'local_password lp',
    'keepalive_interval 3',
    'idle_timeout 9',
    'restart_timeout 7',
    'start_type lazy',
    'threshold 3',
    'notifications false',
    'notifications_local_only true',
    'notification_topic state/br',
    'try_private false',
    'bridge_attempt_unsubscribe false',
    'bridge_outgoing_retain false',
    'bridge_max_packet_size 1000',
    'bridge_session_expiry_interval 60',
    'bridge_receive_maximum 20',
    'bridge_max_topic_alias 10',
    'bridge_cafile /ca.crt',
    'bridge_insecure true',
    'bridge_alpn mqtt',
    'bridge_tls_version tlsv1.3',
    'topic a out 1',
  ]);
  assert.ok(b !== undefined);
  assert.deepEqual(b.addresses, [
    { host: '127.0.0.1', port: 1884 },
    { host: '[::1]', port: 1885 },
  ]);
  assert.deepEqual(
    [b.roundRobin, b.protocolVersion, b.cleanSession, b.localCleanSession, b.remoteClientId, b.localClientId],
    [true, 5, true, false, 'r', 'l'],
  );
  assert.deepEqual([b.keepaliveInterval, b.idleTimeout, b.threshold, b.startType], [5, 9, 3, 'lazy']);
  assert.deepEqual(b.restartTimeout, { kind: 'constant', seconds: 7 });
  assert.deepEqual(
    [b.notifications, b.notificationsLocalOnly, b.notificationTopic],
    [false, true, 'state/br'],
  );
  assert.deepEqual(
    [b.tryPrivate, b.attemptUnsubscribe, b.outgoingRetain, b.maxPacketSize],
    [false, false, false, 1000],
  );
  assert.deepEqual([b.sessionExpiryInterval, b.receiveMaximum, b.maxTopicAlias], [60, 20, 10]);
  assert.deepEqual(b.tls, {
    insecure: true,
    useOsCerts: false,
    cafile: '/ca.crt',
    alpn: 'mqtt',
    version: 'tlsv1.3',
  });
});

test('local_cleansession follows cleansession unless given', () => {
  const [b] = bridgesFrom(['connection a', 'address 127.0.0.1', 'cleansession true', 'topic #']);
  assert.equal(b?.localCleanSession, true);
});

// Mosquitto's manual, "topic": each valid row of its table, and where a message goes each way.
const TABLE: Array<[string, string, string, string]> = [
  ['topic pattern both 0 L/ R/', 'L/pattern', 'R/pattern', ''],
  ['topic pattern both 0 L/ ""', 'L/pattern', 'pattern', ''],
  ['topic pattern both 0 "" R/', 'pattern', 'R/pattern', ''],
  ['topic pattern both 0 "" ""', 'pattern', 'pattern', ''],
  ['topic "" both 0 local remote', 'local', 'remote', ''],
];

for (const [line, localTopic, remoteTopic] of TABLE) {
  test(`topic form: ${line}`, () => {
    const [b] = bridgesFrom(['connection t', 'address 127.0.0.1', line]);
    const topics = b!.topics;
    assert.deepEqual([topics[0]?.localTopic, topics[0]?.remoteTopic], [localTopic, remoteTopic]);
    assert.equal(toRemote(topics, localTopic), remoteTopic);
    assert.equal(toLocal(topics, remoteTopic), localTopic);
  });
}

test('wildcards remap the whole tree; directions limit which way a topic goes', () => {
  const [b] = bridgesFrom([
    'connection w',
    'address 127.0.0.1',
    'topic # both 2 local/topic/ remote/topic/',
    'topic s/+/t in 1',
    'topic o/# out 1',
  ]);
  const topics = b!.topics;
  assert.equal(toRemote(topics, 'local/topic/a/b'), 'remote/topic/a/b');
  assert.equal(toLocal(topics, 'remote/topic/a/b'), 'local/topic/a/b');
  assert.equal(toLocal(topics, 's/x/t'), 's/x/t');
  assert.equal(toRemote(topics, 's/x/t'), undefined);
  assert.equal(toRemote(topics, 'o/1'), 'o/1');
  assert.equal(toLocal(topics, 'o/1'), undefined);
});

function refused(lines: string[], pattern: RegExp): void {
  assert.throws(
    () => bridgesFrom(lines),
    (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
  );
}

test('invalid sections and topics are refused with the line and the reason', () => {
  refused(
    ['address 127.0.0.1'],
    /bridge\.conf:2: option "address": bridge option given before any "connection" line/,
  );
  refused(['connection a', 'topic #'], /bridge "a": no "address" given/);
  refused(['connection a', 'address 127.0.0.1'], /bridge "a": no "topic" given/);
  refused(['connection a', 'connection a'], /duplicate bridge name/);
  refused(
    ['connection a', 'address 127.0.0.1', 'topic "" both 0 local ""'],
    /needs both a local and a remote prefix/,
  );
  refused(['connection a', 'address 127.0.0.1', 'topic "" both 0 "" remote'], /needs both/);
  refused(['connection a', 'address 127.0.0.1', 'topic ""'], /needs both/);
  refused(['connection a', 'address 127.0.0.1', 'topic a sideways'], /expected one of "out", "in", "both"/);
  refused(['connection a', 'address 127.0.0.1', 'topic a in 3'], /out of range/);
  refused(['connection a', 'address 127.0.0.1', 'topic a in 1 L/'], /a local prefix needs a remote prefix/);
  refused(['connection a', 'address 127.0.0.1', 'topic a in 1 L/# R/'], /no wildcards/);
  refused(['connection a', 'address 127.0.0.1', 'bridge_protocol_version mqttv6'], /expected one of/);
  refused(['connection a', 'address 127.0.0.1', 'topic #', 'remote_password p'], /needs "remote_username"/);
  refused(
    [
      'connection a',
      'address 127.0.0.1',
      'topic #',
      'bridge_identity i',
      'bridge_psk 00',
      'bridge_cafile /c',
    ],
    /only one of certificate and PSK/,
  );
  refused(['connection a', 'address 127.0.0.1', 'topic #', 'bridge_psk 0x12'], /hexadecimal/);
  refused(['connection a', 'address 127.0.0.1', 'topic #', 'bridge_require_ocsp true'], /cannot verify OCSP/);
  refused(['connection a', 'address 127.0.0.1', 'topic #', 'restart_timeout 10 5'], /below the base/);
});

test('the per-message matcher agrees with the reference topic matcher (seeded)', async () => {
  const { topicMatches } = await import('../../src/auth/topic-match.js');
  const { matchesLevels } = await import('../../src/bridge/topic-map.js');
  const seed = 2026;
  console.log(`seed ${seed}`);
  let s = seed;
  const random = (n: number): number => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s % n;
  };
  const words = ['a', 'b', '', '$SYS', 'ab'];
  const filterWords = [...words, '+', '#'];
  for (let i = 0; i < 5000; i++) {
    const topic = Array.from({ length: 1 + random(4) }, () => words[random(words.length)]).join('/');
    const parts = Array.from({ length: 1 + random(4) }, () => filterWords[random(filterWords.length)]!);
    const hash = parts.indexOf('#');
    const filter = (hash === -1 ? parts : parts.slice(0, hash + 1)).join('/');
    if (topic.includes('$SYS') && !topic.startsWith('$SYS')) continue;
    assert.equal(
      matchesLevels(filter.split('/'), topic),
      topicMatches(filter, topic),
      `${filter} vs ${topic}`,
    );
  }
});
