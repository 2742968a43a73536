// Routing must be re-entrant: with `log_dest topic`, a line logged while a message is being routed (here the
// slow-consumer warning for a full queue) is itself published into the tree. That nested publication used to
// reuse the per-session routing marks of the outer pass, which then skipped every session it had touched.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt from 'mqtt';
import { startCulexProcess } from '../helpers/processes.js';

test('a log line published to $SYS/broker/log while routing does not make the outer message skip a subscriber', async () => {
  const broker = await startCulexProcess([
    'allow_anonymous true',
    'log_dest topic',
    'log_type all',
    'max_queued_messages 1',
  ]);
  const url = `mqtt://127.0.0.1:${broker.port}`;
  try {
    // An offline persistent session subscribed first, so that routing reaches it (and its full queue) first.
    const away = await mqtt.connectAsync(url, { clientId: 'away', clean: false, reconnectPeriod: 0 });
    await away.subscribeAsync('t', { qos: 1 });
    await away.endAsync();
    const watch = await mqtt.connectAsync(url, { clientId: 'watch', reconnectPeriod: 0 });
    await watch.subscribeAsync({ t: { qos: 0 }, '$SYS/broker/log/#': { qos: 0 } });
    const seen: string[] = [];
    watch.on('message', (topic, payload) => {
      if (topic === 't') seen.push(payload.toString());
      else if (payload.toString().includes('dropped for client away')) seen.push('drop-logged');
    });
    const pub = await mqtt.connectAsync(url, { clientId: 'pub', reconnectPeriod: 0 });
    await pub.publishAsync('t', 'one', { qos: 1 }); // queued for 'away' (its queue is now full)
    await pub.publishAsync('t', 'two', { qos: 1 }); // dropped for 'away': logged while routing
    await pub.publishAsync('t', 'three', { qos: 1 });
    const deadline = Date.now() + 3000;
    while (seen.filter((s) => s !== 'drop-logged').length < 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(
      seen.filter((s) => s !== 'drop-logged'),
      ['one', 'two', 'three'],
    );
    assert.ok(seen.includes('drop-logged'), 'the drop warning reached $SYS/broker/log');
    await pub.endAsync();
    await watch.endAsync();
  } finally {
    await broker.stop();
  }
});
