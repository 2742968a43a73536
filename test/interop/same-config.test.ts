// One mosquitto.conf file starts both the real mosquitto and `node bin/culex.js -c file`; the same scripted
// conversations, which depend on that configuration, must get the same bytes back from both.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Script, transcript } from '../helpers/conversation.js';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, startFromConf, tempDir, writeConf } from '../helpers/processes.js';
import { publishPacket, subscribePacket } from '../helpers/raw-client.js';
import { requireTool } from '../helpers/tools.js';

const skip = requireTool('mosquitto');

const CONF_LINES = [
  'allow_anonymous true',
  'allow_zero_length_clientid false',
  'clientid_prefixes cx-',
  'max_queued_messages 2',
  'max_inflight_messages 1',
  'log_type none',
];

const SCRIPTS: ReadonlyArray<readonly [string, Script]> = [
  ['clientid_prefixes: an id without the prefix is not authorized (CONNACK 5)', async (c) => {
    await c.connect('a', { clientId: 'other' });
    await c.closed('a');
  }],
  ['allow_zero_length_clientid false: empty id rejected (CONNACK 2)', async (c) => {
    await c.connect('a', { clientId: '', clean: true });
    await c.closed('a');
  }],
  ['max_inflight_messages 1: one QoS 1 message in flight at a time', async (c) => {
    await c.connect('s', { clientId: 'cx-win' });
    c.send('s', subscribePacket(1, [['w', 1]]));
    await c.read('s', 1);
    await c.connect('p', { clientId: 'cx-winp' });
    for (let i = 1; i <= 3; i++) c.send('p', publishPacket('w', String(i), 1, i));
    await c.read('p', 3);
    await c.read('s', 1);
    await c.quiet('s', 200);
    c.send('s', { type: 4, packetId: 1, reasonCode: 0 });
    await c.read('s', 1);
    c.send('s', { type: 4, packetId: 2, reasonCode: 0 });
    await c.read('s', 1);
  }],
  ['max_queued_messages 2: an offline session keeps only the first two', async (c) => {
    await c.connect('a', { clientId: 'cx-off', clean: false });
    c.send('a', subscribePacket(1, [['q', 1]]));
    await c.read('a', 1);
    c.send('a', [0xe0, 0x00]);
    await c.closed('a');
    await c.connect('p', { clientId: 'cx-offp' });
    for (let i = 1; i <= 5; i++) c.send('p', publishPacket('q', String(i), 1, i));
    await c.read('p', 5);
    await c.connect('b', { clientId: 'cx-off', clean: false });
    for (let id = 1; id <= 3; id++) {
      await c.read('b', 1, 500);
      c.send('b', { type: 4, packetId: id, reasonCode: 0 });
    }
    await c.quiet('b', 200);
  }],
];

async function runAll(broker: BrokerProcess): Promise<string[][]> {
  const out: string[][] = [];
  for (const [, script] of SCRIPTS) out.push(await transcript(broker.port, script));
  return out;
}

test('the same mosquitto.conf starts mosquitto and culex, and both answer these conversations identically', { skip, timeout: 30000 }, async () => {
  const port = await freePort();
  const confPath = writeConf(tempDir(), port, CONF_LINES);
  const mosquitto = await startFromConf('mosquitto', confPath, port);
  let theirs: string[][];
  try {
    theirs = await runAll(mosquitto);
  } finally {
    await mosquitto.stop();
  }
  const culex = await startFromConf('culex', confPath, port);
  let ours: string[][];
  try {
    ours = await runAll(culex);
  } finally {
    await culex.stop();
  }
  for (let i = 0; i < SCRIPTS.length; i++) {
    if (process.env.DIFF_VERBOSE === '1') process.stdout.write(`# ${SCRIPTS[i]![0]}\n#  mosquitto: ${theirs[i]!.join(' | ')}\n#  culex:     ${ours[i]!.join(' | ')}\n`);
    assert.deepEqual(ours[i], theirs[i], SCRIPTS[i]![0]);
  }
});
