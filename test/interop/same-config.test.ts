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
  [
    'clientid_prefixes: an id without the prefix is not authorized (CONNACK 5)',
    async (c) => {
      await c.connect('a', { clientId: 'other' });
      await c.closed('a');
    },
  ],
  [
    'allow_zero_length_clientid false: empty id rejected (CONNACK 2)',
    async (c) => {
      await c.connect('a', { clientId: '', clean: true });
      await c.closed('a');
    },
  ],
  [
    'max_inflight_messages 1: one QoS 1 message in flight at a time',
    async (c) => {
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
    },
  ],
  [
    'max_queued_messages 2: an offline session keeps only the first two',
    async (c) => {
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
    },
  ],
];

/**
 * Documented in docs/compatibility.md: Mosquitto 2.0.11 (Debian) lets a 3.1.1 client in with a keepalive above
 * max_keepalive; its documentation, and Mosquitto from 2.0.12 on, refuse it with CONNACK 2, as Culex does.
 */
const KEEPALIVE_ABOVE_MAX = 'max_keepalive 30: a 3.1.1 client asking keepalive 60 is refused (CONNACK 2)';

/** max_keepalive is checked in its own file: every other script connects with keepalive 60. */
const KEEPALIVE_CONF_LINES = [
  'allow_anonymous true',
  'max_keepalive 30',
  'clientid_prefixes cx-',
  'log_type none',
];
const KEEPALIVE_SCRIPTS: ReadonlyArray<readonly [string, Script]> = [
  [
    'max_keepalive 30: keepalive 0 and keepalive 30 from a 3.1.1 client are accepted',
    async (c) => {
      await c.connect('a', { clientId: 'cx-ka0', keepAlive: 0 });
      await c.closed('a', 300);
      await c.connect('c', { clientId: 'cx-ka30', keepAlive: 30 });
      await c.closed('c', 300);
    },
  ],
  [
    KEEPALIVE_ABOVE_MAX,
    async (c) => {
      await c.connect('b', { clientId: 'cx-ka60', keepAlive: 60 });
      await c.closed('b', 300);
    },
  ],
  [
    'max_keepalive 30 and clientid_prefixes: which refusal wins',
    async (c) => {
      await c.connect('a', { clientId: 'other', keepAlive: 60 });
      await c.closed('a', 300);
    },
  ],
];

async function runAll(
  broker: BrokerProcess,
  scripts: ReadonlyArray<readonly [string, Script]>,
): Promise<string[][]> {
  const out: string[][] = [];
  for (const [, script] of scripts) out.push(await transcript(broker.port, script));
  return out;
}

/** Starts mosquitto, then culex, from one configuration file, runs the scripts on each and compares. */
async function compare(
  lines: readonly string[],
  scripts: ReadonlyArray<readonly [string, Script]>,
): Promise<void> {
  const port = await freePort();
  const confPath = writeConf(tempDir(), port, lines);
  const mosquitto = await startFromConf('mosquitto', confPath, port);
  let theirs: string[][];
  try {
    theirs = await runAll(mosquitto, scripts);
  } finally {
    await mosquitto.stop();
  }
  const culex = await startFromConf('culex', confPath, port);
  let ours: string[][];
  try {
    ours = await runAll(culex, scripts);
  } finally {
    await culex.stop();
  }
  for (let i = 0; i < scripts.length; i++) {
    const name = scripts[i]![0];
    if (process.env.DIFF_VERBOSE === '1')
      process.stdout.write(
        `# ${name}\n#  mosquitto: ${theirs[i]!.join(' | ')}\n#  culex:     ${ours[i]!.join(' | ')}\n`,
      );
  }
  for (let i = 0; i < scripts.length; i++) {
    const name = scripts[i]![0];
    if (name === KEEPALIVE_ABOVE_MAX) {
      assert.deepEqual(ours[i], ['b <- 20020002', 'b: closed'], name);
      continue;
    }
    assert.deepEqual(ours[i], theirs[i], name);
  }
}

test('the same mosquitto.conf starts mosquitto and culex, and both answer these conversations identically', {
  skip,
  timeout: 30000,
}, async () => {
  await compare(CONF_LINES, SCRIPTS);
});

test('max_keepalive from the same mosquitto.conf: same CONNACKs as mosquitto', {
  skip,
  timeout: 30000,
}, async () => {
  await compare(KEEPALIVE_CONF_LINES, KEEPALIVE_SCRIPTS);
});

/** Delivery-shaping options, each observable on the wire. */
const SHAPING_CONF_LINES = [
  'allow_anonymous true',
  'upgrade_outgoing_qos true',
  'queue_qos0_messages true',
  'max_qos 1',
  'retain_available false',
  'log_type none',
];
const SHAPING_SCRIPTS: ReadonlyArray<readonly [string, Script]> = [
  [
    'max_qos 1: SUBACK grants at most 1; upgrade_outgoing_qos raises QoS 0 messages to the granted QoS',
    async (c) => {
      await c.connect('s', { clientId: 'sh-up' });
      c.send('s', subscribePacket(1, [['up', 2]]));
      await c.read('s', 1);
      await c.connect('p', { clientId: 'sh-upp' });
      c.send('p', publishPacket('up', 'x', 0));
      await c.read('s', 1);
    },
  ],
  [
    'queue_qos0_messages: QoS 0 kept for an offline persistent session',
    async (c) => {
      await c.connect('a', { clientId: 'sh-q0', clean: false });
      c.send('a', subscribePacket(1, [['q0', 0]]));
      await c.read('a', 1);
      c.send('a', [0xe0, 0x00]);
      await c.closed('a');
      await c.connect('p', { clientId: 'sh-q0p' });
      c.send('p', publishPacket('q0', 'kept', 0));
      c.send('p', { type: 12 });
      await c.read('p', 1);
      await c.connect('b', { clientId: 'sh-q0', clean: false });
      await c.read('b', 1, 500);
    },
  ],
  [
    'max_qos 1: a QoS 2 PUBLISH',
    async (c) => {
      await c.connect('a', { clientId: 'sh-q2' });
      c.send('a', publishPacket('x', 'x', 2, 1));
      await c.read('a', 1);
      await c.closed('a', 500);
    },
  ],
  [
    'retain_available false: a retained PUBLISH',
    async (c) => {
      await c.connect('a', { clientId: 'sh-ret' });
      c.send('a', publishPacket('r', 'x', 1, 1, { retain: true }));
      await c.read('a', 1);
      await c.closed('a', 500);
    },
  ],
];

test('delivery-shaping options from the same mosquitto.conf behave as in mosquitto', {
  skip,
  timeout: 30000,
}, async () => {
  await compare(SHAPING_CONF_LINES, SHAPING_SCRIPTS);
});
