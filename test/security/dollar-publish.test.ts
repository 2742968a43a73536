// Mosquitto's built-in rule for `$` topics holds with or without an ACL file: a client never publishes into
// `$SYS` except bridge state topics (`$SYS/broker/connection/+/state`), nor to a `$share/...` name. MQTT 5 gets
// PUBACK 0x87, 3.1.1 PUBACK 0; the message is dropped either way. Checked on Culex and on Mosquitto 2.0.11.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import { freePort } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { RawClient } from '../helpers/raw-client.js';
import { findTool } from '../helpers/tools.js';
import { type BrokerKind, kinds, received, startSecure, sub } from './acl-fixture.js';

async function startAnonymous(kind: BrokerKind): Promise<BrokerProcess> {
  const port = await freePort();
  const conf = writeConf(tempDir(), port, ['allow_anonymous true']);
  return kind === 'mosquitto'
    ? launchWith(findTool('mosquitto') ?? 'mosquitto', (c) => ['-c', c], conf, port)
    : launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c], conf, port);
}

const REFUSED = ['$SYS/broker/connection/x', '$SYS/broker/connection/x/y/state', '$SYS/x', '$share/g/x'];
const STATE = '$SYS/broker/connection/x/state';

async function pubackCode(
  port: number,
  version: ProtocolVersion,
  topic: string,
  auth: object,
): Promise<number> {
  const { client } = await RawClient.connect(port, { version, clientId: `p${version}`, ...auth });
  client.send({ type: 3, topic, payload: Buffer.from('x'), qos: 1, retain: false, dup: false, packetId: 7 });
  const ack = await client.next();
  client.disconnect();
  if (ack.type !== 4) throw new Error(`expected PUBACK, got packet type ${ack.type}`);
  return ack.reasonCode;
}

for (const kind of kinds()) {
  for (const withAcl of [false, true]) {
    test(`${kind}, ${withAcl ? 'ACL file' : 'no ACL file'}: $SYS and $share publishes are refused`, async () => {
      const b = withAcl ? await startSecure(kind) : await startAnonymous(kind);
      const auth = withAcl ? { username: 'alice', password: 'apw' } : {};
      try {
        const watch = await RawClient.connect(b.port, { clientId: 'watch', ...auth });
        await sub(watch.client, '$SYS/broker/connection/#');
        for (const topic of REFUSED) {
          assert.equal(await pubackCode(b.port, 5, topic, auth), 0x87, `MQTT 5 ${topic}`);
          assert.equal(await pubackCode(b.port, 4, topic, auth), 0, `3.1.1 ${topic}`);
        }
        // The bridge state topic is not refused by the `$` rule (the ACL decides: alice's `#` does not match it).
        const state = await pubackCode(b.port, 5, STATE, auth);
        if (withAcl) assert.equal(state, 0x87);
        else assert.ok(state < 0x80, `state topic: ${state}`);
        const got = await received(watch.client, 300, true, withAcl ? 0 : 1);
        assert.deepEqual(got, withAcl ? [] : [`${STATE}=x`]);
        watch.client.disconnect();
      } finally {
        await b.stop();
      }
    });
  }
}
