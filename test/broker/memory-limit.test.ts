// memory_limit with Mosquitto's effects: past the limit an incoming PUBLISH is dropped and its client disconnected
// ("Client ID disconnected due to out of memory."), and new connections are closed at once while the broker is
// over it. Against the real mosquitto (a limit below what the broker already uses), a broker measuring its own
// memory, and an injected measure for the hysteresis.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger, LogLevel } from '../../src/broker/logger.js';
import { heapAndExternal, MEMORY_SAMPLE_MS } from '../../src/broker/memory-limit.js';
import { startBroker } from '../helpers/broker.js';
import { sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, startCulexProcess, startMosquitto } from '../helpers/processes.js';
import { connectPacket, publishPacket, RawClient, subscribe } from '../helpers/raw-client.js';
import { requireTool } from '../helpers/tools.js';

function captureLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    enabled: (_level: LogLevel) => true,
    log: (_level: LogLevel, text: string) => void lines.push(text),
  };
}

/** Opens a socket and sends CONNECT: true when a CONNACK comes, false when the broker closes without one. */
async function connackOrClose(port: number, clientId: string): Promise<boolean> {
  const c = await RawClient.open(port);
  c.send(connectPacket({ clientId }));
  const packets = await c.collect(1000, 1);
  c.destroy();
  if (packets.length === 0) assert.equal(c.isClosed, true, 'neither a CONNACK nor a close');
  return packets.some((p) => p.type === 2);
}

test('a broker already over memory_limit closes a new connection without CONNACK, as mosquitto does', {
  skip: requireTool('mosquitto'),
}, async () => {
  // 20000 bytes: mosquitto starts (its listener is open) but cannot allocate a client; Culex is over it at once.
  const lines = ['allow_anonymous true', 'memory_limit 20000'];
  const brokers: BrokerProcess[] = [await startMosquitto(lines), await startCulexProcess(lines)];
  try {
    for (const b of brokers) assert.equal(await connackOrClose(b.port, 'refused'), false, b.log());
    const culex = brokers[1]!;
    assert.match(culex.log(), /Warning: memory use \d+ bytes is over memory_limit 20000/);
    assert.doesNotMatch(culex.log(), /New connection from/);
  } finally {
    for (const b of brokers) await b.stop();
  }
});

test('an incoming PUBLISH that would pass memory_limit is dropped and its client disconnected', async () => {
  const logger = captureLog();
  // Room for what the process holds now and 16 MiB more: a 32 MiB payload does not fit.
  const memoryLimit = heapAndExternal() + 16 * 1024 * 1024;
  const b = await startBroker({ logger, options: { memoryLimit, connectionMessages: true } });
  try {
    const { client: sub } = await RawClient.connect(b.port, { clientId: 'sub' });
    await subscribe(sub, 1, [['big', 1]]);
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' });
    pub.send(publishPacket('big', Buffer.alloc(32 * 1024 * 1024, 1), 1, 7));
    const answer = await pub.collect(5000, 1);
    assert.deepEqual(
      answer.map((p) => p.type),
      [],
      'no PUBACK',
    );
    assert.equal(await pub.waitClosed(), true);
    assert.ok(
      logger.lines.includes('Client pub disconnected due to out of memory.'),
      logger.lines.join('\n'),
    );
    assert.deepEqual(await sub.collect(200), [], 'nothing routed');
    assert.equal(b.broker.stats.memoryRefusedMessages, 1);
    sub.destroy();
  } finally {
    await b.stop();
  }
});

test('over memory_limit new connections are refused until use falls below 90 % of it; publishers are disconnected', async () => {
  const logger = captureLog();
  let used = 500;
  const b = await startBroker({ logger, memoryUsage: () => used, options: { memoryLimit: 1000 } });
  try {
    assert.equal(await connackOrClose(b.port, 'before'), true);
    const { client: pub } = await RawClient.connect(b.port, { clientId: 'pub' });
    used = 2000;
    assert.ok(await waitFor(() => b.broker.internals.memory?.over === true, 2000));
    assert.equal(await connackOrClose(b.port, 'over'), false);
    pub.send(publishPacket('t', 'x', 1, 1));
    assert.equal(await pub.waitClosed(), true);
    // Under the limit but above the low-water mark: still refused (hysteresis).
    used = 950;
    await sleep(MEMORY_SAMPLE_MS * 3);
    assert.equal(await connackOrClose(b.port, 'still'), false);
    used = 800;
    assert.ok(await waitFor(() => b.broker.internals.memory?.over === false, 2000));
    assert.equal(await connackOrClose(b.port, 'after'), true);
    assert.equal(b.broker.stats.memoryRefusedConnections, 2);
    assert.equal(b.broker.stats.memoryRefusedMessages, 1);
    assert.match(logger.lines.join('\n'), /over memory_limit 1000[\s\S]*back under memory_limit 1000/);
  } finally {
    await b.stop();
  }
});
