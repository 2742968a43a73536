// The `culex` command runs a Mosquitto bridge configuration unchanged, and SIGHUP applies a changed
// `connection` section (Mosquitto cannot reload bridges; Culex restarts the changed one).

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { startFromConf, startMosquitto, tempDir, writeConf } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { collector, publish, receivedCount } from './bridge-helpers.js';

const skip = requireTool('mosquitto');

test('culex -c with a connection section bridges to Mosquitto; SIGHUP changes its topics', {
  skip,
}, async () => {
  const remote = await startMosquitto(['allow_anonymous true']);
  const port = await freePort();
  const dir = tempDir();
  const section = (topic: string): string[] => [
    'allow_anonymous true',
    'connection cli',
    `address 127.0.0.1:${remote.port}`,
    'restart_timeout 1',
    `topic ${topic} out 1`,
  ];
  const conf = writeConf(dir, port, section('a/#'));
  const culex = await startFromConf('culex', conf, port);
  try {
    assert.ok(await waitFor(() => /Bridge cli connected/.test(culex.log()), 5000), culex.log());
    await sleep(200);
    const far = await collector(remote.port, ['#'], 1);
    await publish(port, 'a/1', 'first', 1);
    await receivedCount(far, 1);
    writeFileSync(conf, [`listener ${port} 127.0.0.1`, ...section('b/#'), ''].join('\n'));
    culex.signal('SIGHUP');
    assert.ok(await waitFor(() => /Config reloaded/.test(culex.log()), 5000), culex.log());
    assert.ok(
      await waitFor(() => (culex.log().match(/Bridge cli connected/g) ?? []).length === 2, 5000),
      culex.log(),
    );
    await sleep(200);
    await publish(port, 'a/2', 'not any more', 1);
    await publish(port, 'b/1', 'second', 1);
    await receivedCount(far, 2);
    await sleep(200);
    assert.deepEqual(
      far.received.filter((m) => !m.topic.startsWith('$')).map((m) => m.topic),
      ['a/1', 'b/1'],
    );
    await far.end();
  } finally {
    await culex.stop();
    await remote.stop();
  }
});
