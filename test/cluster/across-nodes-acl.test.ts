// Differential: access control with the clients on different nodes of a 3-node cluster decides as on one
// broker — the publisher's write access on its node, the subscriber's read access (with its own client id for
// `%c` patterns) on the subscriber's node, for a message that came from another node (see across-nodes-harness.ts).

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { tempDir } from '../helpers/processes.js';
import { deliveries, skip, useDifferential } from './across-nodes-harness.js';

const dir = tempDir('culex-across-acl-');
const aclFile = join(dir, 'acl');
// Lines before any `user` line apply to anonymous clients, as in Mosquitto.
writeFileSync(
  aclFile,
  [
    'topic readwrite +/open/#',
    'topic read +/ro/#',
    'topic write +/wo/#',
    'topic write +/own/#',
    'pattern readwrite +/own/%c/#',
    '',
  ].join('\n'),
);
after(() => rmSync(dir, { recursive: true, force: true }));

const diff = useDifferential([`acl_file ${aclFile}`]);

test('write access is checked on the publisher’s node, read access with the subscriber’s identity on its node', {
  skip,
}, async () => {
  const { single } = await diff.compare(async (t) => {
    await t.connect('sub', 1, { version: 5 });
    await t.subscribe('sub', [
      [t.topic('open/#'), { qos: 1 }],
      [t.topic('ro/#'), { qos: 1 }],
      [t.topic('wo/#'), { qos: 1 }],
      [t.topic(`own/${t.prefix}-sub/#`), { qos: 1 }],
      [t.topic(`own/${t.prefix}-pub/#`), { qos: 1 }],
    ]);
    await t.connect('old', 2, { version: 4 });
    await t.subscribe('old', [[t.topic('#'), { qos: 1 }]]);
    await t.connect('pub', 0, { version: 5 });
    for (const topic of ['open/x', 'ro/x', 'wo/x', `own/${t.prefix}-sub/x`, `own/${t.prefix}-pub/x`])
      await t.publish('pub', t.topic(topic), topic, { qos: 1 });
    await t.expect('sub', 2);
    await t.ping('sub');
    await t.ping('old');
  });
  assert.deepEqual(
    deliveries(single, 'sub').map((l) => l.split('"')[1]),
    ['open/x', 'own/s1-sub/x'],
  );
  assert.ok(
    single.recording.pub!.control.some((l) => l.startsWith('PUBACK 2 135')),
    'ro/x: not authorized',
  );
});
