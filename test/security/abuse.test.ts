// Abuse: a flood of failed logins must not slow down clients already connected (the check is cheap and
// never blocks the event loop for long), and every attempt must really be refused.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/processes.js';
import { requireTool } from '../helpers/tools.js';
import { connectMqtt, runTool } from '../transport/clients.js';
import { startCli } from './cli-broker.js';

const skip = requireTool('mosquitto_passwd');

/** MQTT 3.1.1 CONNECT with username and password. */
function connectPacket(clientId: string, username: string, password: string): Buffer {
  const str = (s: string): Buffer => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
  };
  const body = Buffer.concat([
    str('MQTT'),
    Buffer.from([4, 0xc2, 0, 60]),
    str(clientId),
    str(username),
    str(password),
  ]);
  return Buffer.concat([Buffer.from([0x10, body.length]), body]);
}

/** One failed login: resolves with the CONNACK return code (or -1 if the socket closed without one). */
function failedLogin(port: number, i: number): Promise<number> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    let code = -1;
    s.on('data', (d) => {
      if (d[0] === 0x20 && d.length >= 4) code = d[3]!;
      s.destroy();
    });
    s.on('error', () => {});
    s.once('close', () => resolve(code));
    s.write(connectPacket(`attacker-${i}`, 'alice', `guess-${i}`));
  });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

test('1,000 failed logins in a row do not slow other clients, and all are refused', {
  skip,
  timeout: 120_000,
}, async () => {
  const dir = tempDir('culex-abuse-');
  const passwd = join(dir, 'passwd');
  writeFileSync(passwd, '');
  await runTool('mosquitto_passwd', ['-b', passwd, 'alice', 'the-real-one']);
  const broker = await startCli(dir, [
    'allow_anonymous false',
    `password_file ${passwd}`,
    'connection_messages false',
    'set_tcp_nodelay true',
  ]);
  try {
    const legit = await connectMqtt(`mqtt://127.0.0.1:${broker.port}`, {
      username: 'alice',
      password: 'the-real-one',
    });
    await legit.subscribeAsync('ping', { qos: 1 });
    const rtt = async (): Promise<number> => {
      const t0 = performance.now();
      const back = new Promise<void>((r) => legit.once('message', () => r()));
      await legit.publishAsync('ping', 'x', { qos: 1 });
      await back;
      return performance.now() - t0;
    };
    const baseline: number[] = [];
    for (let i = 0; i < 50; i++) baseline.push(await rtt());

    let done = false;
    const codes: number[] = [];
    const attack = (async () => {
      // 1,000 attempts, 20 at a time, back to back.
      for (let i = 0; i < 1000; i += 20) {
        const batch = await Promise.all(
          Array.from({ length: 20 }, (_, k) => failedLogin(broker.port, i + k)),
        );
        codes.push(...batch);
      }
      done = true;
    })();
    const during: number[] = [];
    while (!done) during.push(await rtt());
    await attack;

    assert.equal(codes.length, 1000);
    assert.ok(
      // 5 (not authorized): what Mosquitto answers a wrong password with.
      codes.every((c) => c === 5),
      `unexpected CONNACK codes: ${[...new Set(codes)].join(',')}`,
    );
    assert.ok(legit.connected, 'the legitimate client stays connected');
    const p99 = percentile(during, 99);
    const base99 = percentile(baseline, 99);
    console.log(
      `round trip p99: baseline ${base99.toFixed(2)} ms, during attack ${p99.toFixed(2)} ms (${during.length} samples)`,
    );
    assert.ok(p99 < Math.max(100, base99 * 20), `p99 during the attack ${p99.toFixed(1)} ms`);
    await legit.endAsync();
  } finally {
    await broker.stop();
  }
});
