// Dynamic security at run time, on both brokers: changes reach connected clients at once (a disabled, deleted
// or re-permissioned client is disconnected as Mosquitto does it), passwords and client-id bindings are enforced,
// and clients cannot forge control traffic (PUBLISH without the ACL, retained or routed $CONTROL messages).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Packet } from '../../src/protocol/packets.js';
import { publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { clientEntry, type Doc, oracleSkip, type Pair, startPair } from './dynsec-fixture.js';

const CONTROL = '$CONTROL/dynamic-security/v1';

const ADMIN_ROLE: Doc = {
  rolename: 'admin',
  acls: [
    { acltype: 'publishClientSend', topic: '$CONTROL/dynamic-security/#', allow: true },
    { acltype: 'publishClientReceive', topic: '$CONTROL/dynamic-security/#', allow: true },
    { acltype: 'subscribePattern', topic: '$CONTROL/dynamic-security/#', allow: true },
    { acltype: 'publishClientReceive', topic: '#', allow: true },
    { acltype: 'subscribePattern', topic: '#', allow: true },
  ],
};

function document(): string {
  return JSON.stringify({
    defaultACLAccess: {
      publishClientSend: false,
      publishClientReceive: true,
      subscribe: false,
      unsubscribe: true,
    },
    clients: [
      clientEntry({ username: 'admin', password: 'pw', roles: [{ rolename: 'admin' }] }),
      clientEntry({ username: 'app', password: 'apppw', roles: [{ rolename: 'app' }] }),
      clientEntry({ username: 'bound', password: 'bpw', clientid: 'only-me', roles: [{ rolename: 'app' }] }),
      clientEntry({ username: 'plain', password: 'ppw' }),
    ],
    groups: [],
    roles: [
      ADMIN_ROLE,
      {
        rolename: 'app',
        acls: [
          { acltype: 'publishClientSend', topic: 'app/#', allow: true },
          { acltype: 'publishClientSend', topic: '$CONTROL/#', allow: true },
          { acltype: 'publishClientReceive', topic: 'app/#', allow: true },
          { acltype: 'subscribePattern', topic: 'app/#', allow: true },
          { acltype: 'subscribePattern', topic: '$CONTROL/#', allow: true },
        ],
      },
    ],
  });
}

async function login(port: number, username: string, password: string, clientId: string): Promise<RawClient> {
  const c = await RawClient.open(port);
  c.version = 5;
  const ack = (await c.handshake({ version: 5, username, password, clientId })) as unknown as {
    reasonCode: number;
  };
  assert.equal(ack.reasonCode, 0, `${username} logs in`);
  return c;
}

async function loginOutcome(
  port: number,
  o: { username?: string; password?: string; clientId: string; will?: { topic: string } },
): Promise<string> {
  const c = await RawClient.open(port);
  c.version = 5;
  const ack = (await c.handshake({ version: 5, ...o })) as unknown as { reasonCode: number };
  c.destroy();
  // Mosquitto 2.0.11 refuses every failed login with 0x87, Culex a bad password with 0x86 (a broker-wide
  // difference, not the plugin's): compare the outcome.
  return ack.reasonCode === 0 ? 'accepted' : 'refused';
}

/** An admin session that sends commands and returns the response payload. */
async function adminOf(port: number): Promise<(commands: Doc[]) => Promise<string>> {
  const rec = await login(port, 'admin', 'pw', 'admin-rec');
  assert.deepEqual(await subscribe(rec, 1, [[`${CONTROL}/response`, 0]]), [0]);
  const send = await login(port, 'admin', 'pw', 'admin-send');
  let id = 1;
  return async (commands) => {
    send.send(publishPacket(CONTROL, JSON.stringify({ commands }), 1, id++));
    const p = await rec.nextOfType(3);
    return p.payload.toString();
  };
}

/** What a connected client sees when it is kicked: the DISCONNECT reason code, or 'closed'. */
async function kickedWith(c: RawClient): Promise<string> {
  const packets: Packet[] = await c.collect(500);
  const d = packets.find((p) => p.type === 14) as unknown as { reasonCode: number } | undefined;
  const closed = await c.waitClosed(1500);
  return `${d === undefined ? 'none' : d.reasonCode.toString(16)} closed=${closed}`;
}

async function scenario(port: number): Promise<string[]> {
  const out: string[] = [];
  const admin = await adminOf(port);
  // Passwords, client-id binding.
  out.push(
    `wrong password: ${await loginOutcome(port, { username: 'app', password: 'nope', clientId: 'x1' })}`,
  );
  out.push(
    `bound elsewhere: ${await loginOutcome(port, { username: 'bound', password: 'bpw', clientId: 'other' })}`,
  );
  out.push(`bound: ${await loginOutcome(port, { username: 'bound', password: 'bpw', clientId: 'only-me' })}`);
  out.push(`unknown user: ${await loginOutcome(port, { username: 'ghost', password: 'x', clientId: 'x2' })}`);

  // Without a grant for the control topic (default access never reaches $CONTROL), a command is refused and
  // never executed.
  const plain = await login(port, 'plain', 'ppw', 'plain-1');
  plain.send(
    publishPacket(
      CONTROL,
      JSON.stringify({ commands: [{ command: 'createClient', username: 'intruder' }] }),
      1,
      2,
    ),
  );
  out.push(
    `unprivileged command ack: ${((await plain.nextOfType(4)) as unknown as { reasonCode: number }).reasonCode}`,
  );
  plain.disconnect();
  out.push(await admin([{ command: 'getClient', username: 'intruder' }]));

  // A retained PUBLISH to an unregistered $CONTROL topic is acknowledged but neither routed nor retained.
  const app = await login(port, 'app', 'apppw', 'app-1');
  const watcher = await login(port, 'app', 'apppw', 'app-watch');
  assert.deepEqual(
    await subscribe(watcher, 1, [
      ['$CONTROL/#', 0],
      ['app/#', 0],
    ]),
    [0, 0],
  );
  app.send(publishPacket('$CONTROL/other/v1', 'hello', 1, 7, { retain: true }));
  out.push(
    `control publish ack: ${((await app.nextOfType(4)) as unknown as { reasonCode: number }).reasonCode}`,
  );
  const seen = (await watcher.collect(300))
    .filter((p) => p.type === 3)
    .map((p) => (p.type === 3 ? p.topic : ''));
  out.push(`control publish routed to: [${seen.join(',')}]`);
  const late = await login(port, 'app', 'apppw', 'app-late');
  await subscribe(late, 1, [['$CONTROL/#', 0]]);
  out.push(`retained control messages: ${(await late.collect(300)).filter((p) => p.type === 3).length}`);
  late.disconnect();

  // Disabling kicks; the disabled client cannot come back; enabling lets it in.
  out.push(await admin([{ command: 'disableClient', username: 'app' }]));
  out.push(`app kicked: ${await kickedWith(app)}`);
  out.push(`watcher kicked: ${await kickedWith(watcher)}`);
  out.push(
    `disabled login: ${await loginOutcome(port, { username: 'app', password: 'apppw', clientId: 'x3' })}`,
  );
  out.push(await admin([{ command: 'enableClient', username: 'app' }]));

  // Removing the ACL that allowed a subscription's deliveries: the subscriber is kicked and, back with its
  // persistent session, receives nothing more on that topic.
  const sub = await RawClient.open(port);
  sub.version = 5;
  await sub.handshake({ version: 5, username: 'app', password: 'apppw', clientId: 'app-sub', clean: false });
  assert.deepEqual(await subscribe(sub, 1, [['app/data', 1]]), [1]);
  const pub = await login(port, 'admin', 'pw', 'admin-pub');
  out.push(
    await admin([
      { command: 'removeRoleACL', rolename: 'app', acltype: 'publishClientReceive', topic: 'app/#' },
    ]),
  );
  out.push(`subscriber kicked: ${await kickedWith(sub)}`);
  out.push(
    await admin([
      { command: 'setDefaultACLAccess', acls: [{ acltype: 'publishClientReceive', allow: false }] },
    ]),
  );
  pub.send(publishPacket('app/data', 'after', 1, 3));
  await pub.nextOfType(4);
  const back = await RawClient.open(port);
  back.version = 5;
  await back.handshake({ version: 5, username: 'app', password: 'apppw', clientId: 'app-sub', clean: false });
  out.push(`deliveries after removal: ${(await back.collect(400)).filter((p) => p.type === 3).length}`);
  back.disconnect();

  // Deleting a client kicks it and its login stops working.
  const doomed = await login(port, 'app', 'apppw', 'app-2');
  out.push(await admin([{ command: 'deleteClient', username: 'app' }]));
  out.push(`deleted kicked: ${await kickedWith(doomed)}`);
  out.push(
    `deleted login: ${await loginOutcome(port, { username: 'app', password: 'apppw', clientId: 'x4' })}`,
  );
  pub.disconnect();

  // An administrator changing itself is disconnected too, before its PUBACK.
  const self = await login(port, 'admin', 'pw', 'admin-self');
  self.send(
    publishPacket(
      CONTROL,
      JSON.stringify({ commands: [{ command: 'modifyClient', username: 'admin', textname: 'me' }] }),
      1,
      9,
    ),
  );
  const seenBySelf = (await self.collect(500)).map((p) =>
    p.type === 14 ? `disconnect ${p.reasonCode.toString(16)}` : `type ${p.type}`,
  );
  out.push(`self-modifying admin sees: ${seenBySelf.join(', ')}; closed=${await self.waitClosed(1500)}`);
  return out;
}

test('dynsec at run time: kicks, logins, and $CONTROL messages never routed or retained, as the real plugin', {
  skip: oracleSkip(),
  timeout: 60_000,
}, async () => {
  let pair: Pair | undefined;
  try {
    pair = await startPair(document());
    const [oracle, culex] = await Promise.all([scenario(pair.mosquitto.port), scenario(pair.culex.port)]);
    assert.deepEqual(culex, oracle);
  } finally {
    await pair?.stop();
  }
});
