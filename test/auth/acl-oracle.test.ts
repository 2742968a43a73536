// Differential test: every client x topic read/write decision of Culex's ACL matches the real mosquitto broker.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AclFile } from '../../src/auth/acl-file.js';
import { fileAuthorizer } from '../../src/auth/authenticator.js';
import { hashPassword } from '../../src/auth/password-file.js';
import { ACL_TEXT, MATRIX_CLIENTS, MATRIX_TOPICS } from './acl-fixture.js';
import { run, skipUnlessTools, startMosquitto, tempDir } from './tools.js';

const PYTHON = '/usr/bin/python3';

/**
 * Every client subscribes to everything (mosquitto grants any filter) and publishes every topic at QoS 1 with
 * its id as payload. The superuser `cw` sees which publishes got through (write); each client reports which of
 * `cw`'s publishes reached it (read).
 */
const PROBE = `
import json, sys, time
import paho.mqtt.client as mqtt
spec = json.loads(sys.argv[1])
seen = {c['id']: set() for c in spec['clients']}
clients = {}
for c in spec['clients']:
    cl = mqtt.Client(client_id=c['id'], protocol=mqtt.MQTTv311)
    if c.get('user') is not None:
        cl.username_pw_set(c['user'], c.get('password'))
    cl.on_message = (lambda cid: lambda _c, _u, m: seen[cid].add((m.topic, m.payload.decode())))(c['id'])
    cl.connect('127.0.0.1', spec['port'])
    cl.loop_start()
    clients[c['id']] = cl
time.sleep(0.3)
for cl in clients.values():
    cl.subscribe([('#', 0), ('$SYS/#', 0), ('$x/#', 0)])
time.sleep(0.3)
for cid, cl in clients.items():
    infos = [cl.publish(t, cid, qos=1) for t in spec['topics']]
    for i in infos:
        i.wait_for_publish(5)
time.sleep(0.5)
for cl in clients.values():
    cl.loop_stop()
    cl.disconnect()
print(json.dumps({cid: sorted([list(x) for x in s]) for cid, s in seen.items()}))
`;

function hasPaho(): string | false {
  const skip = skipUnlessTools('mosquitto', 'python3');
  if (skip) return skip;
  return false;
}

test('ACL decisions match mosquitto 2.0 for every client x topic x read/write', {
  skip: hasPaho(),
}, async () => {
  const paho = await run(PYTHON, ['-c', 'import paho.mqtt.client']);
  if (paho.status !== 0) {
    assert.notEqual(process.env.CI, 'true', 'python3-paho-mqtt is required on CI');
    return;
  }
  const dir = tempDir();
  const aclPath = join(dir, 'acl');
  const pwPath = join(dir, 'passwd');
  writeFileSync(aclPath, ACL_TEXT);
  const lines: string[] = [];
  for (const c of MATRIX_CLIENTS) {
    if (c.user !== undefined && c.password !== undefined && !lines.some((l) => l.startsWith(`${c.user}:`))) {
      lines.push(`${c.user}:${await hashPassword(c.password, 'sha512-pbkdf2')}`);
    }
  }
  writeFileSync(pwPath, `${lines.join('\n')}\n`);

  const broker = await startMosquitto(dir, [
    `password_file ${pwPath}`,
    `acl_file ${aclPath}`,
    'allow_anonymous true',
  ]);
  let seen: Record<string, Array<[string, string]>>;
  try {
    const spec = { port: broker.port, clients: MATRIX_CLIENTS, topics: MATRIX_TOPICS };
    const result = await run(PYTHON, ['-c', PROBE, JSON.stringify(spec)]);
    assert.equal(result.status, 0, result.stderr);
    seen = JSON.parse(result.stdout) as Record<string, Array<[string, string]>>;
  } finally {
    await broker.stop();
  }

  const auth = fileAuthorizer(AclFile.parse(ACL_TEXT, 'fixture'));
  const superuser = 'cw';
  const received = (cid: string, topic: string, from: string) =>
    (seen[cid] ?? []).some(([t, p]) => t === topic && p === from);
  let compared = 0;
  for (const c of MATRIX_CLIENTS) {
    for (const topic of MATRIX_TOPICS) {
      // Write: did the superuser observe this client's publish?
      assert.equal(
        received(superuser, topic, c.id),
        auth.authorize('write', c.id, c.user, topic),
        `write ${c.id} ${topic}`,
      );
      compared++;
      // Read: only testable where the superuser's own publish was let through.
      if (received(superuser, topic, superuser)) {
        assert.equal(
          received(c.id, topic, superuser),
          auth.authorize('read', c.id, c.user, topic),
          `read ${c.id} ${topic}`,
        );
        compared++;
      }
    }
  }
  assert.ok(compared > 200, `compared ${compared} decisions`);
});
