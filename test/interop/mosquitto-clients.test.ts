// Interop with Debian's mosquitto_pub / mosquitto_sub against Culex.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Broker } from '../../src/index.js';
import { withBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/net.js';
import { run, start } from '../helpers/run.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('mosquitto_pub', 'mosquitto_sub');

/** True once the client is connected with at least `n` subscriptions. */
function subscribed(broker: Broker, clientId: string, n = 1): () => boolean {
  return () => {
    const c = broker.clients.get(clientId);
    return c !== undefined && c.subscriptionCount >= n;
  };
}

for (const version of ['31', '311'] as const) {
  test(`mosquitto_pub/sub -V ${version}: QoS 0, 1 and 2`, { skip }, async () => {
    await withBroker({}, async ({ port, broker }) => {
      const p = String(port);
      const sub = start('mosquitto_sub', [
        '-p',
        p,
        '-V',
        version,
        '-i',
        `sub${version}`,
        '-t',
        'mc/#',
        '-q',
        '2',
        '-C',
        '3',
        '-v',
      ]);
      assert.ok(await waitFor(subscribed(broker, `sub${version}`)));
      for (const qos of ['0', '1', '2']) {
        const r = await run('mosquitto_pub', [
          '-p',
          p,
          '-V',
          version,
          '-t',
          `mc/q${qos}`,
          '-m',
          `hello ${qos}`,
          '-q',
          qos,
        ]);
        assert.equal(r.status, 0, r.stderr);
      }
      const out = await sub.done;
      assert.equal(out.status, 0, out.stderr);
      assert.deepEqual(out.stdout.trim().split('\n'), ['mc/q0 hello 0', 'mc/q1 hello 1', 'mc/q2 hello 2']);
    });
  });

  test(`mosquitto_pub -r -V ${version}: retained message reaches a later mosquitto_sub`, {
    skip,
  }, async () => {
    await withBroker({}, async ({ port }) => {
      const p = String(port);
      const r = await run('mosquitto_pub', [
        '-p',
        p,
        '-V',
        version,
        '-t',
        'mc/ret',
        '-m',
        'kept',
        '-r',
        '-q',
        '1',
      ]);
      assert.equal(r.status, 0, r.stderr);
      const out = await run('mosquitto_sub', [
        '-p',
        p,
        '-V',
        version,
        '-t',
        'mc/ret',
        '-C',
        '1',
        '-W',
        '5',
        '-v',
      ]);
      assert.equal(out.stdout.trim(), 'mc/ret kept');
      // An empty retained message clears it: mosquitto_sub then times out with nothing.
      await run('mosquitto_pub', ['-p', p, '-V', version, '-t', 'mc/ret', '-r', '-n']);
      const none = await run('mosquitto_sub', ['-p', p, '-V', version, '-t', 'mc/ret', '-C', '1', '-W', '1']);
      assert.equal(none.stdout, '');
    });
  });
}

test('mosquitto_sub -c -i id: a persistent session receives what was published while it was offline', {
  skip,
}, async () => {
  await withBroker({}, async ({ port, broker }) => {
    const p = String(port);
    // First visit: subscribe and leave at once (-E), keeping the session.
    const first = await run('mosquitto_sub', [
      '-p',
      p,
      '-c',
      '-i',
      'keeper',
      '-q',
      '1',
      '-t',
      'mc/persist',
      '-E',
    ]);
    assert.equal(first.status, 0, first.stderr);
    assert.ok(broker.sessions.has('keeper'));
    for (const qos of ['1', '2']) {
      const r = await run('mosquitto_pub', ['-p', p, '-t', 'mc/persist', '-m', `offline ${qos}`, '-q', qos]);
      assert.equal(r.status, 0, r.stderr);
    }
    const back = await run('mosquitto_sub', [
      '-p',
      p,
      '-c',
      '-i',
      'keeper',
      '-q',
      '1',
      '-t',
      'mc/persist',
      '-C',
      '2',
      '-W',
      '5',
    ]);
    assert.deepEqual(back.stdout.trim().split('\n'), ['offline 1', 'offline 2']);
  });
});

test('mosquitto_sub --will-topic: the will is published when the client is killed', { skip }, async () => {
  await withBroker({}, async ({ port, broker }) => {
    const p = String(port);
    const watcher = start('mosquitto_sub', ['-p', p, '-i', 'watcher', '-t', 'mc/will', '-C', '1', '-v']);
    assert.ok(await waitFor(subscribed(broker, 'watcher')));
    const doomed = start('mosquitto_sub', [
      '-p',
      p,
      '-i',
      'doomed',
      '-t',
      'mc/nothing',
      '--will-topic',
      'mc/will',
      '--will-payload',
      'farewell',
      '--will-qos',
      '1',
    ]);
    assert.ok(await waitFor(subscribed(broker, 'doomed')));
    doomed.child.kill('SIGKILL');
    const out = await watcher.done;
    assert.equal(out.stdout.trim(), 'mc/will farewell');
    await doomed.done;
  });
});
