// An ACL file enforced through real clients (npm mqtt) on the culex CLI: per-user topics, read-only and
// denied topics, %c / %u patterns, wildcard subscriptions covering denied topics, retained messages.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { MqttClient } from 'mqtt';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, nextMessage, runTool } from '../transport/clients.js';
import { type CliBroker, startCli } from './cli-broker.js';

const skip = requireTool('mosquitto_passwd');
const ACL = `# admin sees and writes everything
user admin
topic readwrite #

user alice
topic readwrite alice/#
topic read public/#
topic deny public/secret

pattern readwrite clients/%c/#
pattern write users/%u/out
`;

let broker: CliBroker;
let url: string;
const clients: MqttClient[] = [];

before(async () => {
  if (skip !== false) return;
  const dir = tempDir('culex-acl-');
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  await runTool('mosquitto_passwd', ['-b', passwd, 'admin', 'a']);
  await runTool('mosquitto_passwd', ['-b', passwd, 'alice', 'b']);
  writeFileSync(join(dir, 'acl'), ACL);
  broker = await startCli(dir, [
    'allow_anonymous false',
    `password_file ${passwd}`,
    `acl_file ${join(dir, 'acl')}`,
  ]);
  url = `mqtt://127.0.0.1:${broker.port}`;
});

after(async () => {
  await Promise.all(clients.map((c) => c.endAsync()));
  await broker?.stop();
});

async function user(name: string, clientId: string): Promise<MqttClient> {
  const c = await connectMqtt(url, { username: name, password: name === 'admin' ? 'a' : 'b', clientId });
  clients.push(c);
  return c;
}

test('ACL matrix through real clients', { skip, timeout: 30_000 }, async () => {
  const admin = await user('admin', 'admin-1');
  const alice = await user('alice', 'c1');
  await admin.subscribeAsync('#', { qos: 1 });

  // readwrite on her own tree
  await alice.subscribeAsync('alice/#', { qos: 1 });
  let got = nextMessage(alice, 'alice/x', 2000);
  await alice.publishAsync('alice/x', 'mine', { qos: 1 });
  assert.equal(await got, 'mine');

  // read-only: her publish is dropped, admin never sees it
  got = nextMessage(admin, 'public/news', 700);
  await alice.publishAsync('public/news', 'by alice', { qos: 1 });
  assert.equal(await got, undefined);

  // a wildcard subscription covering a denied topic: allowed, but the denied topic is never delivered
  const [grant] = await alice.subscribeAsync('public/#', { qos: 1 });
  assert.equal(grant?.qos, 1);
  const news = nextMessage(alice, 'public/news', 2000);
  const secret = nextMessage(alice, 'public/secret', 700);
  await admin.publishAsync('public/secret', 'classified', { qos: 1 });
  await admin.publishAsync('public/news', 'hello', { qos: 1 });
  assert.equal(await news, 'hello');
  assert.equal(await secret, undefined);

  // a filter she may not read at all: Mosquitto 2.0 grants the SUBSCRIBE and filters every delivery
  const [unreadable] = await alice.subscribeAsync('admin/#', { qos: 1 });
  assert.equal(unreadable?.qos, 1);
  got = nextMessage(alice, 'admin/x', 700);
  await admin.publishAsync('admin/x', 'for admin', { qos: 1 });
  assert.equal(await got, undefined);

  // %c: her client id's tree only
  got = nextMessage(admin, 'clients/c1/status', 2000);
  await alice.publishAsync('clients/c1/status', 'up', { qos: 1 });
  assert.equal(await got, 'up');
  got = nextMessage(admin, 'clients/c2/status', 700);
  await alice.publishAsync('clients/c2/status', 'spoof', { qos: 1 });
  assert.equal(await got, undefined);

  // %u: write to her own out-topic, not to someone else's; write-only means she cannot read it back
  got = nextMessage(admin, 'users/alice/out', 2000);
  await alice.publishAsync('users/alice/out', 'report', { qos: 1 });
  assert.equal(await got, 'report');
  got = nextMessage(admin, 'users/admin/out', 700);
  await alice.publishAsync('users/admin/out', 'spoof', { qos: 1 });
  assert.equal(await got, undefined);
  await alice.subscribeAsync('users/alice/out', { qos: 1 });
  got = nextMessage(alice, 'users/alice/out', 700);
  await admin.publishAsync('users/alice/out', 'echo', { qos: 1 });
  assert.equal(await got, undefined);
});

test('ACL: retained messages on denied topics are not handed out on subscribe', {
  skip,
  timeout: 30_000,
}, async () => {
  const admin = await user('admin', 'admin-2');
  await admin.publishAsync('public/secret', 'retained secret', { qos: 1, retain: true });
  await admin.publishAsync('public/open', 'retained open', { qos: 1, retain: true });
  const alice = await user('alice', 'alice-retained');
  const received: string[] = [];
  alice.on('message', (t) => received.push(t));
  await alice.subscribeAsync('public/#', { qos: 1 });
  await new Promise((r) => setTimeout(r, 700));
  assert.ok(received.includes('public/open'), `got ${received.join(',')}`);
  assert.ok(!received.includes('public/secret'), `got ${received.join(',')}`);
});
