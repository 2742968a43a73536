// Interop with Python paho-mqtt 1.x (/usr/bin/python3): the classic "subscribe in on_connect, publish, wait for
// our own message" program must receive its own message from Culex.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { withBroker } from '../helpers/broker.js';
import { tempDir } from '../helpers/processes.js';
import { run } from '../helpers/run.js';
import { requirePythonModule } from '../helpers/tools.js';

const skip = requirePythonModule('paho.mqtt.client');

const PROGRAM = `
import sys, time
import paho.mqtt.client as mqtt

PORT = int(sys.argv[1])
received = []

def on_connect(client, userdata, flags, rc):
    print("connected", rc, flush=True)
    client.subscribe("topic/test")

def on_message(client, userdata, msg):
    print(msg.topic, msg.payload.decode(), flush=True)
    received.append(msg.payload)

client = mqtt.Client()
client.on_connect = on_connect
client.on_message = on_message
client.connect("localhost", PORT, 60)
client.loop_start()
# A PUBLISH written before the SUBSCRIBE from on_connect reaches any broker first and is lost (mosquitto too),
# so publish again every half second until our own message comes back.
deadline = time.time() + 5
next_publish = 0
while not received and time.time() < deadline:
    if time.time() >= next_publish:
        client.publish("topic/test", "Hello, Mosquitto!")
        next_publish = time.time() + 0.5
    time.sleep(0.05)
client.loop_stop()
client.disconnect()
sys.exit(0 if received else 1)
`;

test('paho-mqtt 1.x: subscribes in on_connect, publishes, receives its own message', { skip }, async () => {
  const dir = tempDir('culex-paho-');
  const script = join(dir, 'paho_roundtrip.py');
  writeFileSync(script, PROGRAM);
  await withBroker({}, async ({ port }) => {
    const r = await run('/usr/bin/python3', [script, String(port)], 10000);
    assert.equal(r.status, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stdout, /^connected 0$/m);
    assert.match(r.stdout, /^topic\/test Hello, Mosquitto!$/m);
  });
});
