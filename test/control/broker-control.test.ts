// Mosquitto 2.1's `$CONTROL/broker/v1` (`enable_control_api true`): listListeners / listPlugins answered as
// 2.1's broker_control.c and its test 17-control-list-listeners.py expect. Debian ships 2.0.11, which has no
// such endpoint, so the expected JSON is the 2.1 test's.

import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BROKER_CONTROL_PLUGIN } from '../../src/config/config.js';
import { parseConfigText } from '../../src/config/parse.js';
import { createBrokerControlPlugin } from '../../src/control/broker-control.js';
import type { PublishPacket } from '../../src/protocol/packets.js';
import { detachedPluginBroker } from '../../src/server/plugin-broker.js';
import { freePort, waitFor } from '../helpers/net.js';
import { CULEX_BIN, launchWith, tempDir } from '../helpers/processes.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';

async function command(c: RawClient, payload: string): Promise<unknown> {
  c.send(publishPacket('$CONTROL/broker/v1', payload));
  const p = (await c.nextOfType(3)) as PublishPacket;
  assert.equal(p.topic, '$CONTROL/broker/v1/response');
  return JSON.parse(Buffer.from(p.payload).toString('utf8'));
}

test('2.1 test 17-control-list-listeners: listListeners and the malformed-command answers', async () => {
  const dir = tempDir();
  // Started as root, the broker runs as "mosquitto" (as Mosquitto does) and must be able to create the socket.
  chmodSync(dir, 0o777);
  const [p1, p2] = [await freePort(), await freePort()];
  const sock = join(dir, 'list.sock');
  const conf = join(dir, 'c.conf');
  writeFileSync(
    conf,
    [
      'enable_control_api true',
      'log_type all',
      'allow_anonymous true',
      `listener ${p1} 127.0.0.1`,
      'protocol mqtt',
      `listener ${p2} 127.0.0.1`,
      'protocol websockets',
      `listener 0 ${sock}`,
      '',
    ].join('\n'),
  );
  const broker = await launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c], conf, p1);
  try {
    // The first listener accepts before the others are open: wait for the start to finish.
    assert.ok(await waitFor(() => /running/.test(broker.log())), broker.log());
    const c = await RawClient.open(p1);
    await c.handshake({ clientId: '17-list-listeners' });
    await subscribe(c, 2, [['$CONTROL/broker/#', 0]]);
    const bad = (cmd: string, error: string) => ({ responses: [{ command: cmd, error }] });
    assert.deepEqual(await command(c, 'not valid json'), bad('Unknown command', 'Payload not valid JSON'));
    assert.deepEqual(await command(c, '{}'), bad('Unknown command', 'Invalid/missing commands'));
    assert.deepEqual(
      await command(c, '{"commands":["command"]}'),
      bad('Unknown command', 'Command not an object'),
    );
    assert.deepEqual(await command(c, '{"commands":[{}]}'), bad('Unknown command', 'Missing command'));
    assert.deepEqual(
      await command(c, '{"commands":[{"command":"unknown command"}]}'),
      bad('unknown command', 'Unknown command'),
    );
    assert.deepEqual(
      await command(c, '{"commands":[{"command":"listListeners","correlationData":true}]}'),
      bad('listListeners', 'Invalid correlationData data type.'),
    );
    const ok = await command(c, '{"commands":[{"command":"listListeners","correlationData":"m3Ct"}]}');
    assert.deepEqual(ok, {
      responses: [
        {
          command: 'listListeners',
          data: {
            listeners: [
              { port: p1, protocol: 'mqtt', 'bind-address': '127.0.0.1', tls: false },
              { port: p2, protocol: 'mqtt+websockets', 'bind-address': '127.0.0.1', tls: false },
              { port: 0, protocol: 'mqtt', 'socket-path': sock, tls: false },
            ],
          },
          correlationData: 'm3Ct',
        },
      ],
    });
    // The log line comes through the child's stderr pipe, which may lag behind the response on the socket.
    const line = /Broker: 17-list-listeners\/\(null\) \| listListeners/;
    assert.ok(await waitFor(() => line.test(broker.log())), 'the command is logged');
    c.socket.destroy();
  } catch (err) {
    throw new Error(`${String(err)}\n${broker.log()}`);
  } finally {
    await broker.stop();
  }
});

test('2.1 broker_control.c: listPlugins names the dynamic-security plugin, with its port per listener', () => {
  const config = parseConfigText(
    'enable_control_api true\nper_listener_settings true\nlistener 1883\n' +
      'plugin /usr/lib/mosquitto_dynamic_security.so\nplugin_opt_config_file /tmp/dynsec.json\n' +
      'listener 1884\nplugin /opt/my-plugin.js\n',
    'p.conf',
  );
  const builtIn = config.plugins.find((p) => p.path === BROKER_CONTROL_PLUGIN);
  assert.ok(builtIn?.controlApi !== undefined, 'enable_control_api adds the endpoint');
  const published: string[] = [];
  const plugin = createBrokerControlPlugin(
    {
      options: {},
      log: () => {},
      broker: {
        ...detachedPluginBroker,
        publish: (request) => published.push(String(request.payload)),
      },
      listenerIndex: undefined,
    },
    builtIn.controlApi,
  );
  const client = { clientId: 'admin', username: 'admin' } as Parameters<
    NonNullable<typeof plugin.onControl>
  >[0];
  assert.equal(plugin.onControl?.(client, '$CONTROL/other/v1', Buffer.from('{}')), false);
  assert.equal(
    plugin.onControl?.(client, '$CONTROL/broker/v1', Buffer.from('{"commands":[{"command":"LISTPLUGINS"}]}')),
    true,
  );
  assert.deepEqual(JSON.parse(published[0]!), {
    responses: [
      {
        command: 'listPlugins',
        data: {
          plugins: [
            { name: 'dynamic-security', port: 1883, 'control-endpoints': ['$CONTROL/dynamic-security/v1'] },
          ],
        },
      },
    ],
  });
  const off = parseConfigText('listener 1883\n', 'o.conf');
  assert.equal(
    off.plugins.some((p) => p.path === BROKER_CONTROL_PLUGIN),
    false,
    'off by default',
  );
});
