// Crash test of persistence with an ONLINE persistent subscriber: while a publisher sends QoS 1 and QoS 2
// messages and the subscriber (clean session 0) stays connected and acknowledging, the broker is SIGKILLed at
// random moments (more than 20 times) and restarted; both clients reconnect with their sessions and the
// publisher resends what was not acknowledged, as mqtt.js does with `clean: false`. Every message the publisher
// saw acknowledged (PUBACK / PUBREC) must reach the subscriber: QoS 1 at least once, QoS 2 exactly once.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import mqtt, { type MqttClient, type Packet } from 'mqtt';
import { killConf } from '../helpers/kill-load.js';
import { canConnect, freePort, sleep, waitFor } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { seededRng } from '../helpers/seed.js';

/** When each kill lands; printed so that a failing order can be replayed. */
const rng = seededRng('kill-online kill timing');

const KILLS = 22;
const WINDOW = 64;

/** Starts `node bin/culex.js -c conf` once the previous process has released the port. */
async function startCulex(conf: string, port: number): Promise<BrokerProcess> {
  for (let i = 0; i < 200 && (await canConnect(port)); i++) await sleep(10);
  return launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c], conf, port);
}

/** SIGKILL, then wait for the process to be gone (stop() only waits once it has already exited). */
async function killHard(broker: BrokerProcess): Promise<void> {
  broker.signal('SIGKILL');
  await broker.stop();
}

/** What the publisher saw: payloads it sent and the ones the broker acknowledged with PUBACK / PUBREC. */
interface Ledger {
  sent: Set<string>;
  acked: Set<string>;
  /** Set for the final run: no new messages, only resends. */
  stopped: boolean;
  /** Runs once, synchronously, on the next acknowledgement (to kill the broker right after it sent one). */
  onNextAck: (() => void) | undefined;
}

/**
 * A publisher with a persistent MQTT 5 session that reconnects on its own and, like any client with
 * `clean: false`, resends its unacknowledged PUBLISH / PUBREL packets; it keeps WINDOW messages outstanding.
 */
function startPublisher(port: number, ledger: Ledger): { client: MqttClient; outstanding: () => number } {
  const client = mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId: 'online-pub',
    clean: false,
    protocolVersion: 5,
    properties: { sessionExpiryInterval: 600 },
    reconnectPeriod: 40,
    connectTimeout: 2000,
  });
  client.on('error', () => {});
  // Packet ids in flight map to their payload, so that an acknowledgement names the message it covers.
  const byId = new Map<number, string>();
  client.on('packetsend', (p: Packet) => {
    if (p.cmd === 'publish' && p.qos > 0 && p.messageId !== undefined)
      byId.set(p.messageId, String(p.payload));
  });
  client.on('packetreceive', (p: Packet) => {
    if ((p.cmd === 'puback' || p.cmd === 'pubrec') && p.messageId !== undefined) {
      const payload = byId.get(p.messageId);
      if (payload === undefined) return;
      ledger.acked.add(payload);
      const hook = ledger.onNextAck;
      ledger.onNextAck = undefined;
      hook?.();
    }
  });
  let n = 0;
  let outstanding = 0;
  const pump = (): void => {
    while (client.connected && !ledger.stopped && outstanding < WINDOW) {
      n++;
      const qos = (n % 2 === 0 ? 2 : 1) as 1 | 2;
      const payload = `${qos}:${n}`;
      ledger.sent.add(payload);
      outstanding++;
      // The callback fires on PUBACK / PUBCOMP, possibly after several reconnects and resends.
      client.publish(`load/q${qos}`, payload, { qos }, () => {
        outstanding--;
        setImmediate(pump);
      });
    }
  };
  client.on('connect', pump);
  return { client, outstanding: () => outstanding };
}

test('an online persistent subscriber gets every acknowledged QoS 1/2 message across repeated SIGKILL', {
  // 22 process starts: about 20 s on an idle machine, past 60 s when another suite loads both cores.
  timeout: 150_000,
}, async (t) => {
  const dir = tempDir('culex-kill-online-');
  const port = await freePort();
  const conf = writeConf(
    dir,
    port,
    killConf(['persistence true', `persistence_location ${dir}`, 'user root']),
  );
  const ledger: Ledger = { sent: new Set(), acked: new Set(), stopped: false, onNextAck: undefined };
  const counts = new Map<string, number>();

  let broker = await startCulex(conf, port);
  // resubscribe: false, so that after each restart only the stored subscriptions can deliver.
  const sub = mqtt.connect({
    host: '127.0.0.1',
    port,
    clientId: 'online-sub',
    clean: false,
    reconnectPeriod: 40,
    connectTimeout: 2000,
    resubscribe: false,
  });
  sub.on('error', () => {});
  // QoS 2 messages are emitted on PUBREL by mqtt.js, whose incoming store survives reconnects.
  sub.on('message', (_topic, payload) => {
    const p = payload.toString();
    counts.set(p, (counts.get(p) ?? 0) + 1);
  });
  let subConnects = 0;
  sub.on('connect', () => subConnects++);
  assert.ok(await waitFor(() => sub.connected, 5000), 'subscriber did not connect');
  await sub.subscribeAsync({ 'load/q1': { qos: 1 }, 'load/q2': { qos: 2 } });

  const pub = startPublisher(port, ledger);
  let pubConnects = 0;
  pub.client.on('connect', () => pubConnects++);

  let kills = 0;
  try {
    for (let i = 1; i <= KILLS; i++) {
      if (i > 1) broker = await startCulex(conf, port);
      // Let both clients come back and traffic flow, then kill at a random moment of it.
      const subBefore = subConnects;
      const pubBefore = pubConnects;
      const ackedBefore = ledger.acked.size;
      if (i > 1) await waitFor(() => subConnects > subBefore && pubConnects > pubBefore, 5000);
      await waitFor(() => ledger.acked.size > ackedBefore, 3000);
      await sleep(30 + rng.int(250));
      // Every other kill lands just after an acknowledgement left the broker, where an acknowledgement sent
      // before its commit would be lost; the others at whatever the broker is doing then.
      if (i % 2 === 0) {
        const target = broker;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 500);
          ledger.onNextAck = () => {
            target.signal('SIGKILL');
            clearTimeout(timer);
            resolve();
          };
        });
        ledger.onNextAck = undefined;
      }
      await killHard(broker);
      kills++;
    }
    assert.ok(kills >= 20);
    assert.ok(
      subConnects >= KILLS && pubConnects >= KILLS,
      `reconnects: sub ${subConnects}, pub ${pubConnects}`,
    );

    // Final run: the publisher stops adding messages and everything outstanding must settle.
    broker = await startCulex(conf, port);
    ledger.stopped = true;
    const settled = await waitFor(
      () => pub.outstanding() === 0 && [...ledger.acked].every((p) => counts.has(p)),
      15_000,
      50,
    );
    // Late duplicates (a resend still travelling) would show up in this pause.
    await sleep(400);
    const lost = [...ledger.acked].filter((p) => !counts.has(p));
    assert.ok(ledger.acked.size > 1000, `only ${ledger.acked.size} messages acknowledged`);
    assert.deepEqual(
      lost.slice(0, 10),
      [],
      `${lost.length} of ${ledger.acked.size} acknowledged messages lost`,
    );
    assert.ok(settled, `publisher still has ${pub.outstanding()} messages outstanding`);
    const duplicatedQos2 = [...counts].filter(([p, n]) => p.startsWith('2:') && n > 1);
    assert.deepEqual(duplicatedQos2.slice(0, 10), [], 'QoS 2 messages delivered more than once');
    const unknown = [...counts.keys()].filter((p) => !ledger.sent.has(p));
    assert.deepEqual(unknown, [], 'messages nobody sent');
    const redelivered = [...counts.values()].filter((n) => n > 1).length;
    t.diagnostic(
      `${kills} kills, ${ledger.acked.size} acknowledged, ${counts.size} delivered, ${redelivered} QoS 1 twice`,
    );
  } finally {
    pub.client.end(true);
    sub.end(true);
    await killHard(broker);
  }
});
