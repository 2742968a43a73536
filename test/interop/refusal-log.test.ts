// The notice a refused login leaves in the log, compared with the real mosquitto given the same files: a wrong
// password, an unknown user and an anonymous client are all "Client <unknown> disconnected, not authorised.",
// written after the CONNACK.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep } from '../helpers/net.js';
import { RawClient } from '../helpers/raw-client.js';
import { kinds, startSecure } from '../security/acl-fixture.js';

const LINE = 'Client <unknown> disconnected, not authorised.';

for (const kind of kinds()) {
  test(`${kind}: refused logins are logged as Mosquitto logs them`, async () => {
    const broker = await startSecure(kind);
    try {
      const attempts = [
        { username: 'alice', password: 'wrong', clientId: 'r1' },
        { username: 'nobody', password: 'x', clientId: 'r2' },
        { clientId: 'r3' },
      ];
      for (const o of attempts) {
        const { client, connack } = await RawClient.connect(broker.port, o);
        assert.equal(connack.reasonCode, 5, `${JSON.stringify(o)} is refused with CONNACK 5`);
        client.destroy();
      }
      for (let i = 0; i < 40 && broker.log().split(LINE).length - 1 < 3; i++) await sleep(25);
      assert.equal(broker.log().split(LINE).length - 1, 3, broker.log());
      assert.doesNotMatch(broker.log(), /connection refused/);
    } finally {
      await broker.stop();
    }
  });
}
