// Mosquitto reads a zero-length password or username in CONNECT as absent: an empty password never matches,
// even a stored hash of the empty string, and an empty username is an anonymous client (let in only by
// allow_anonymous true). Checked on Culex and on Mosquitto 2.0.11.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProtocolVersion } from '../../src/protocol/packets.js';
import { RawClient } from '../helpers/raw-client.js';
import { kinds, startSecure } from './acl-fixture.js';

async function connackCode(
  port: number,
  version: ProtocolVersion,
  username: string,
  password: string | undefined,
): Promise<number> {
  const o = { version, clientId: `c${version}`, username, ...(password === undefined ? {} : { password }) };
  const { client, connack } = await RawClient.connect(port, o);
  client.destroy();
  return connack.reasonCode;
}

for (const kind of kinds()) {
  test(`${kind}: an empty password is no password, even for a user whose stored hash is of ''`, async () => {
    const b = await startSecure(kind);
    try {
      for (const version of [4, 5] as const) {
        assert.notEqual(await connackCode(b.port, version, 'empty', ''), 0, `v${version} empty password`);
        assert.notEqual(await connackCode(b.port, version, 'empty', undefined), 0, `v${version} none`);
        assert.notEqual(await connackCode(b.port, version, '', 'x'), 0, `v${version} empty username`);
        assert.equal(await connackCode(b.port, version, 'bob', 'bpw'), 0, `v${version} bob`);
      }
    } finally {
      await b.stop();
    }
  });

  test(`${kind}: an empty username is an anonymous client under allow_anonymous true`, async () => {
    const b = await startSecure(kind, ['allow_anonymous true']);
    try {
      for (const version of [4, 5] as const) {
        assert.equal(await connackCode(b.port, version, '', undefined), 0, `v${version} no password`);
        assert.equal(await connackCode(b.port, version, '', 'x'), 0, `v${version} with a password`);
        assert.notEqual(await connackCode(b.port, version, 'empty', ''), 0, `v${version} empty password`);
      }
    } finally {
      await b.stop();
    }
  });
}
