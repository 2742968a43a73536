// MQTT 5 enhanced authentication (4.12): AUTH exchange at CONNECT (continue / success / fail), packets other
// than AUTH before CONNACK, re-authentication, and CONNACK 0x8C when no handler exists.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrokerHooks, EnhancedAuthResult } from '../../src/broker/hooks.js';
import { withBroker } from '../helpers/broker.js';
import { RawClient } from '../helpers/raw-client.js';
import { connect5, publish5, subscribe5, v5ConnectPacket } from './helpers.js';

/** A toy challenge/response method: the server asks for "challenge", the client must answer "secret". */
function challengeHooks(calls: string[]): BrokerHooks {
  return {
    enhancedAuth(client, method, data, step): EnhancedAuthResult | Promise<EnhancedAuthResult> {
      calls.push(`${client.clientId}:${method}:${step}:${data?.toString() ?? ''}`);
      if (method !== 'TOY') return { result: 'fail', reasonCode: 0x8c };
      if (step === 'connect' || step === 'reauthenticate')
        return { result: 'continue', data: Buffer.from('challenge') };
      // Answer asynchronously, as a real mechanism checking a store would.
      const ok = data?.toString() === 'secret';
      return Promise.resolve(ok ? { result: 'success', data: Buffer.from('welcome') } : { result: 'fail' });
    },
  };
}

test('[MQTT-4.12.0-2] [MQTT-4.12.0-5] AUTH 0x18 exchange at CONNECT ends in CONNACK 0x00 with the same method', async () => {
  const calls: string[] = [];
  await withBroker({ hooks: challengeHooks(calls) }, async ({ port }) => {
    const c = await RawClient.open(port);
    c.version = 5;
    c.send(
      v5ConnectPacket({
        clientId: 'ea',
        properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('hi') },
      }),
    );
    const challenge = await c.next();
    assert.equal(challenge.type, 15);
    assert.equal(challenge.type === 15 && challenge.reasonCode, 0x18);
    assert.equal(challenge.type === 15 && challenge.properties?.authenticationMethod, 'TOY');
    assert.equal(challenge.type === 15 && challenge.properties?.authenticationData?.toString(), 'challenge');
    c.send({
      type: 15,
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('secret') },
    });
    const ack = await c.next();
    assert.equal(ack.type, 2);
    assert.equal(ack.type === 2 && ack.reasonCode, 0);
    assert.equal(ack.type === 2 && ack.properties?.authenticationMethod, 'TOY');
    assert.equal(ack.type === 2 && ack.properties?.authenticationData?.toString(), 'welcome');
    assert.deepEqual(calls, ['ea:TOY:connect:hi', 'ea:TOY:continue:secret']);
    // The connection works normally afterwards.
    assert.deepEqual(await subscribe5(c, 1, 'ea/t'), [0]);

    // [MQTT-4.12.1-1] re-authentication with AUTH 0x19 and the same method; success is AUTH 0x00.
    c.send({
      type: 15,
      reasonCode: 0x19,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('again') },
    });
    const rechallenge = await c.nextOfType(15);
    assert.equal(rechallenge.reasonCode, 0x18);
    c.send({
      type: 15,
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('secret') },
    });
    const done = await c.nextOfType(15);
    assert.equal(done.reasonCode, 0);
    assert.equal(done.properties?.authenticationMethod, 'TOY');
    c.send(publish5('ea/t', 'still here', 0));
    assert.equal((await c.nextOfType(3)).payload.toString(), 'still here');

    // [MQTT-4.12.1-2] a failed re-authentication ends the connection with DISCONNECT.
    c.send({ type: 15, reasonCode: 0x19, properties: { authenticationMethod: 'TOY' } });
    await c.nextOfType(15);
    c.send({
      type: 15,
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('wrong') },
    });
    const bye = await c.nextOfType(14);
    assert.equal(bye.reasonCode, 0x87);
    assert.ok(await c.waitClosed());
  });
});

test('[MQTT-4.12.0-4] a failed exchange at CONNECT gets CONNACK >= 0x80 and the connection closes', async () => {
  await withBroker({ hooks: challengeHooks([]) }, async ({ port }) => {
    const c = await RawClient.open(port);
    c.version = 5;
    c.send(v5ConnectPacket({ clientId: 'eaf', properties: { authenticationMethod: 'TOY' } }));
    await c.nextOfType(15);
    c.send({
      type: 15,
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('nope') },
    });
    const ack = await c.nextOfType(2);
    assert.equal(ack.reasonCode, 0x87);
    assert.ok(await c.waitClosed());
  });
});

test('[MQTT-4.12.0-1] an unsupported method is refused by the hook with CONNACK 0x8C', async () => {
  await withBroker({ hooks: challengeHooks([]) }, async ({ port }) => {
    const { client, connack } = await connect5(port, {
      clientId: 'eam',
      properties: { authenticationMethod: 'OTHER' },
    });
    assert.equal(connack.reasonCode, 0x8c);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-4.12.0-1] without an enhancedAuth hook an Authentication Method gets CONNACK 0x8C', async () => {
  await withBroker({}, async ({ port }) => {
    const { client, connack } = await connect5(port, {
      clientId: 'ean',
      properties: { authenticationMethod: 'SCRAM-SHA-1' },
    });
    assert.equal(connack.reasonCode, 0x8c);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-3.1.2-30] a packet other than AUTH / DISCONNECT during the exchange is a Protocol Error', async () => {
  await withBroker({ hooks: challengeHooks([]) }, async ({ port }) => {
    const c = await RawClient.open(port);
    c.version = 5;
    c.send(v5ConnectPacket({ clientId: 'eap', properties: { authenticationMethod: 'TOY' } }));
    await c.nextOfType(15);
    c.send(publish5('x', 'too early', 0));
    assert.ok(await c.waitClosed());
  });
});

test('[MQTT-4.12.0-6] [MQTT-4.12.0-7] AUTH on a connection without enhanced authentication is a Protocol Error', async () => {
  await withBroker({ hooks: challengeHooks([]) }, async ({ port }) => {
    const { client, connack } = await connect5(port, { clientId: 'eax' });
    assert.equal(connack.properties?.authenticationMethod, undefined);
    client.send({ type: 15, reasonCode: 0x19, properties: { authenticationMethod: 'TOY' } });
    // Closed without a DISCONNECT, as Mosquitto does (sending one is a SHOULD, 5.0 §4.13.2).
    assert.deepEqual(await client.collect(1000), []);
    assert.ok(await client.waitClosed());
  });
});

test('[MQTT-4.12.1-1] re-authentication with another method is a Protocol Error', async () => {
  await withBroker({ hooks: challengeHooks([]) }, async ({ port }) => {
    const c = await RawClient.open(port);
    c.version = 5;
    c.send(v5ConnectPacket({ clientId: 'eaw', properties: { authenticationMethod: 'TOY' } }));
    await c.nextOfType(15);
    c.send({
      type: 15,
      reasonCode: 0x18,
      properties: { authenticationMethod: 'TOY', authenticationData: Buffer.from('secret') },
    });
    assert.equal((await c.nextOfType(2)).reasonCode, 0);
    c.send({ type: 15, reasonCode: 0x19, properties: { authenticationMethod: 'OTHER' } });
    assert.equal((await c.nextOfType(14)).reasonCode, 0x82);
    assert.ok(await c.waitClosed());
  });
});
