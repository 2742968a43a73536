// /metrics on the http_api listener: valid Prometheus text (every family with HELP and TYPE, counters named
// *_total, legal names), and figures that follow a loaded broker: connections, sessions online / offline,
// subscriptions, retained, messages and bytes, drops by reason, queued messages, refused logins, process figures.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { Broker } from '../../src/index.js';
import { waitFor } from '../helpers/net.js';
import { httpRequest } from './http-client.js';

interface Family {
  type: string;
  help: string;
  samples: Map<string, number>;
}

/** Parses and checks the text format; samples keyed by `name{labels}` exactly as written. */
function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  let current: { name: string; family: Family } | undefined;
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta;
      if (kind === 'HELP') {
        assert.ok(!families.has(name!), `family ${name} twice`);
        current = { name: name!, family: { type: '', help: rest!, samples: new Map() } };
        families.set(name!, current.family);
      } else {
        assert.equal(current?.name, name, `TYPE of ${name} right after its HELP`);
        assert.match(rest!, /^(counter|gauge|summary|histogram|untyped)$/);
        current!.family.type = rest!;
      }
      continue;
    }
    const sample =
      /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (\S+)$/.exec(line);
    assert.ok(sample !== null, `not a sample line: ${line}`);
    const [, name, labels, value] = sample;
    assert.ok(current !== undefined && name!.startsWith(current.name), `${name} outside its family`);
    const number = Number(value);
    assert.ok(!Number.isNaN(number), line);
    current.family.samples.set(`${name}${labels ?? ''}`, number);
  }
  for (const [name, family] of families) {
    assert.ok(family.type !== '', `${name} has no TYPE`);
    if (family.type === 'counter') assert.match(name, /_total$/, `counter ${name}`);
    else assert.doesNotMatch(name, /_total$/, `${family.type} ${name}`);
  }
  return families;
}

function value(families: Map<string, Family>, key: string): number | undefined {
  for (const family of families.values()) if (family.samples.has(key)) return family.samples.get(key);
  return undefined;
}

test('/metrics follows a loaded broker and is valid Prometheus text', async () => {
  const broker = new Broker({
    options: { connectionMessages: false, allowAnonymous: true, maxQueuedMessages: 2 },
    hooks: { authenticate: ({ password }) => password?.toString() === 'right' },
  });
  const [mqttListener, httpListener] = await broker.listen([
    { port: 0, host: '127.0.0.1' },
    { port: 0, host: '127.0.0.1', protocol: 'http_api' },
  ]);
  const port = mqttListener!.port;
  const connect = (clientId: string, extra: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> =>
    mqtt.connectAsync({ host: '127.0.0.1', port, clientId, reconnectPeriod: 0, ...extra });
  try {
    // One offline persistent session with a full queue (2 of 5 kept: 3 queue-full drops).
    const sleeper = await connect('sleeper', { clean: false, username: 'u', password: 'right' });
    await sleeper.subscribeAsync('load/#', { qos: 1 });
    await sleeper.endAsync();
    const subscriber = await connect('subscriber');
    await subscriber.subscribeAsync('load/#', { qos: 1 });
    await subscriber.subscribeAsync('$share/g/load/#', { qos: 0 });
    const publisher = await connect('publisher');
    let got = 0;
    subscriber.on('message', () => got++);
    for (let i = 0; i < 5; i++) await publisher.publishAsync(`load/${i}`, Buffer.alloc(100), { qos: 1 });
    await publisher.publishAsync('load/retained', Buffer.alloc(50), { qos: 1, retain: true });
    assert.ok(await waitFor(() => got >= 12, 3000), `subscriber got ${got}`);
    await assert.rejects(connect('intruder', { username: 'u', password: 'wrong' }));

    const answer = await httpRequest(httpListener!.port, '/metrics');
    assert.equal(answer.status, 200);
    assert.match(answer.headers['content-type'] ?? '', /^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(answer.body);
    const expect: Record<string, number> = {
      culex_clients_connected: 2,
      culex_connections: 2,
      [`culex_listener_connections{port="${port}"}`]: 2,
      'culex_sessions{state="online"}': 2,
      'culex_sessions{state="offline"}': 1,
      'culex_subscriptions{kind="plain"}': 2,
      'culex_subscriptions{kind="shared"}': 1,
      culex_retained_messages: 1,
      culex_queued_messages: 2,
      culex_messages_received_total: 6,
      'culex_publish_received_total{qos="1"}': 6,
      'culex_publish_received_total{qos="0"}': 0,
      'culex_publish_received_bytes_total{qos="1"}': 550,
      // The plain subscription is QoS 1, the shared one QoS 0: each got the 6 messages.
      'culex_publish_sent_total{qos="0"}': 6,
      'culex_publish_sent_total{qos="1"}': 6,
      'culex_publish_sent_bytes_total{qos="0"}': 550,
      'culex_publish_sent_bytes_total{qos="1"}': 550,
      'culex_publish_sent_bytes_total{qos="2"}': 0,
      'culex_messages_dropped_total{reason="queue_full"}': 4,
      'culex_messages_dropped_total{reason="acl"}': 0,
      'culex_auth_failures_total{source="mqtt"}': 1,
      'culex_auth_failures_total{source="http"}': 0,
    };
    for (const [key, expected] of Object.entries(expect)) assert.equal(value(m, key), expected, key);
    // 6 messages to the plain subscription and 6 to the shared one: 12 x their payloads.
    assert.equal(value(m, 'culex_messages_sent_total'), 12);
    assert.equal(value(m, 'culex_queued_bytes'), 200);
    assert.ok(value(m, 'culex_network_received_bytes_total')! > 550);
    assert.ok(value(m, 'culex_network_sent_bytes_total')! > 1100);
    assert.ok(value(m, 'process_resident_memory_bytes')! > 10 * 2 ** 20);
    assert.ok(value(m, 'nodejs_heap_size_used_bytes')! > 0);
    assert.ok(value(m, 'nodejs_eventloop_lag_seconds_count')! > 0);
    assert.ok(value(m, 'nodejs_eventloop_lag_seconds{quantile="0.99"}')! >= 0);
    assert.deepEqual([...m.get('culex_build_info')!.samples.values()], [1]);
    assert.match(
      [...m.get('culex_build_info')!.samples.keys()][0]!,
      /^culex_build_info\{version="\d+\.\d+\.\d+.*"\}$/,
    );
    await subscriber.endAsync();
    await publisher.endAsync();
  } finally {
    await broker.stop();
  }
});
