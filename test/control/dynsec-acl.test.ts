// What the 2.0.11 oracle cannot decide: Mosquitto 2.1's `%c` / `%u` ACL patterns and `allowwildcardsubs`, checked
// against the 2.1 documentation's words; and the cJSON layout the file is written in.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientInfo } from '../../src/broker/hooks.js';
import { printFormatted } from '../../src/control/cjson.js';
import { decide } from '../../src/control/dynsec-acl.js';
import { decodeDocument, encodeDocument } from '../../src/control/dynsec-codec.js';

const who = (clientId: string, username?: string): ClientInfo => ({
  clientId,
  username,
  protocolVersion: 5,
  remoteAddress: '127.0.0.1',
  listenerPort: 1883,
});

const data = decodeDocument({
  defaultACLAccess: {
    publishClientSend: false,
    publishClientReceive: false,
    subscribe: false,
    unsubscribe: false,
  },
  clients: [
    { username: 'alice', roles: [{ rolename: 'own' }] },
    { username: 'bob', roles: [{ rolename: 'literal-only' }] },
    { username: 'w+ld', roles: [{ rolename: 'own' }] },
  ],
  roles: [
    {
      rolename: 'own',
      acls: [
        { acltype: 'publishClientSend', topic: 'devices/%c/up', allow: true },
        { acltype: 'publishClientReceive', topic: 'users/%u/#', allow: true },
        { acltype: 'subscribePattern', topic: 'users/%u/#', allow: true },
      ],
    },
    {
      rolename: 'literal-only',
      allowwildcardsubs: false,
      acls: [{ acltype: 'subscribePattern', topic: 'feed/#', allow: true }],
    },
  ],
});

test('2.1 dynsec: %c and %u stand for the client id and username in a whole ACL level', () => {
  assert.equal(decide(data, who('dev1', 'alice'), 'write', 'devices/dev1/up'), true);
  assert.equal(decide(data, who('dev1', 'alice'), 'write', 'devices/dev2/up'), undefined);
  assert.equal(decide(data, who('dev1', 'alice'), 'read', 'users/alice/inbox'), true);
  assert.equal(decide(data, who('dev1', 'alice'), 'read', 'users/bob/inbox'), undefined);
  assert.equal(decide(data, who('dev1', 'alice'), 'subscribe', 'users/alice/#'), true);
  assert.equal(decide(data, who('dev1', 'alice'), 'subscribe', 'users/+/#'), undefined);
  // A username or client id holding a wildcard never widens a pattern.
  assert.equal(decide(data, who('dev1', 'w+ld'), 'read', 'users/w+ld/x'), undefined);
  assert.equal(decide(data, who('#', 'alice'), 'write', 'devices/#/up'), undefined);
});

test('2.1 dynsec: allowwildcardsubs false refuses wildcard SUBSCRIBEs, literal ones still follow the ACLs', () => {
  assert.equal(decide(data, who('b', 'bob'), 'subscribe', 'feed/news'), true);
  assert.equal(decide(data, who('b', 'bob'), 'subscribe', 'feed/#'), false);
  assert.equal(decide(data, who('b', 'bob'), 'subscribe', 'feed/+'), false);
  // Written back only when false, so 2.0-style files stay as they were.
  const roles = encodeDocument(data).roles as { rolename: string; allowwildcardsubs?: boolean }[];
  assert.deepEqual(
    roles.map((r) => [r.rolename, r.allowwildcardsubs]),
    [
      ['literal-only', false],
      ['own', undefined],
    ],
  );
});

test('cJSON_Print layout: tabs per object level, arrays inline and counted as a level', () => {
  assert.equal(
    printFormatted({ a: [{ b: 1, c: [] }, 'x'], d: { e: true } }),
    '{\n\t"a":\t[{\n\t\t\t"b":\t1,\n\t\t\t"c":\t[]\n\t\t}, "x"],\n\t"d":\t{\n\t\t"e":\ttrue\n\t}\n}',
  );
});
