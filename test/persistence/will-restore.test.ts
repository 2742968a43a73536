// Wills of persistent sessions across a broker crash (SIGKILL of a real `culex` process): the crash is an unclean
// end for every connected client, so their wills go out after the restart, as Mosquitto would send them when a
// connection drops; a will discarded by a normal DISCONNECT must not come back.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { canConnect, freePort, sleep } from '../helpers/net.js';
import { CULEX_BIN, tempDir } from '../helpers/processes.js';

async function startCulex(conf: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [CULEX_BIN, '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 400; i++) {
    if (child.exitCode !== null) throw new Error(`culex exited early (${child.exitCode})`);
    if (await canConnect(port)) return child;
    await sleep(15);
  }
  child.kill('SIGKILL');
  throw new Error('culex did not listen');
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function connect(port: number, options: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync({ host: '127.0.0.1', port, reconnectPeriod: 0, connectTimeout: 3000, ...options });
}

function config(dir: string, port: number, sync?: string): string {
  const conf = join(dir, 'culex.conf');
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence true',
    `persistence_location ${dir}`,
    'user root',
  ];
  if (sync !== undefined) lines.push(`persistence_sync ${sync}`);
  writeFileSync(conf, `${lines.join('\n')}\n`);
  return conf;
}

/** Messages the persistent watcher of `will/#` receives within `ms`, as [topic, payload] in order. */
async function watch(port: number, ms: number): Promise<Array<[string, string]>> {
  const seen: Array<[string, string]> = [];
  // Listening before the CONNACK: queued messages can arrive in the same read.
  const watcher = mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId: 'watcher',
    clean: false,
    reconnectPeriod: 0,
  });
  watcher.on('message', (topic, payload) => seen.push([topic, payload.toString()]));
  await sleep(ms);
  await watcher.endAsync();
  return seen;
}

async function willsSeen(port: number, ms: number): Promise<Map<string, string>> {
  return new Map(await watch(port, ms));
}

test('[MQTT-3.1.2-8] wills of persistent sessions connected at a SIGKILL are published after the restart', {
  timeout: 30_000,
}, async () => {
  const dir = tempDir('culex-will-');
  const port = await freePort();
  const conf = config(dir, port, 'full');
  let broker = await startCulex(conf, port);
  try {
    const watcher = await connect(port, { clientId: 'watcher', clean: false });
    await watcher.subscribeAsync('will/#', { qos: 1 });
    await watcher.endAsync();

    const will = (id: string): mqtt.IClientOptions['will'] => ({
      topic: `will/${id}`,
      payload: Buffer.from(`${id} gone`),
      qos: 1,
      retain: false,
    });
    // Connected at the crash, persistent: its will must come out.
    await connect(port, { clientId: 'crashed', clean: false, will: will('crashed') });
    // Left normally before the crash: [MQTT-3.14.4-3] its will was discarded and must stay so.
    const polite = await connect(port, { clientId: 'polite', clean: false, will: will('polite') });
    await polite.endAsync();
    // MQTT 5 with a Will Delay Interval: the delay starts at the restart.
    await connect(port, {
      clientId: 'delayed',
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 300 },
      will: {
        topic: 'will/delayed',
        payload: Buffer.from('delayed gone'),
        qos: 1,
        retain: false,
        properties: { willDelayInterval: 2 },
      },
    });
    await sleep(100);
    await kill(broker);

    broker = await startCulex(conf, port);
    const early = await willsSeen(port, 600);
    assert.equal(early.get('will/crashed'), 'crashed gone');
    assert.equal(early.has('will/polite'), false);
    assert.equal(early.has('will/delayed'), false, 'the delayed will came before its delay');
    const late = await willsSeen(port, 2500);
    assert.equal(late.get('will/delayed'), 'delayed gone');
    assert.equal(late.has('will/crashed'), false, 'a will was published twice');

    // Published once: a second crash and restart sends nothing again.
    await kill(broker);
    broker = await startCulex(conf, port);
    const after = await willsSeen(port, 600);
    assert.deepEqual([...after.keys()], []);
  } finally {
    await kill(broker);
  }
});

test('a persistent client that reconnects after the restart cancels nothing: its will already went out, and the new one is armed', {
  timeout: 30_000,
}, async () => {
  const dir = tempDir('culex-will-');
  const port = await freePort();
  const conf = config(dir, port);
  let broker = await startCulex(conf, port);
  try {
    const watcher = await connect(port, { clientId: 'watcher', clean: false });
    await watcher.subscribeAsync('will/#', { qos: 1 });
    await watcher.endAsync();
    const options = {
      clientId: 'c',
      clean: false,
      will: { topic: 'will/c', payload: Buffer.from('first'), qos: 1 as const, retain: false },
    };
    await connect(port, options);
    await sleep(50);
    await kill(broker);
    broker = await startCulex(conf, port);
    const again = await connect(port, {
      ...options,
      will: { ...options.will, payload: Buffer.from('second') },
    });
    assert.equal(again.connected, true);
    await sleep(50);
    await kill(broker);
    broker = await startCulex(conf, port);
    const seen = await watch(port, 600);
    assert.deepEqual(
      seen.map(([, p]) => p),
      ['first', 'second'],
    );
  } finally {
    await kill(broker);
  }
});
