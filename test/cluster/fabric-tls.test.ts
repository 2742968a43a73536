// TLS to Redis: a node connects with rediss:// and cluster_redis_cafile (plus a client certificate when Redis
// asks for one); a Redis whose certificate the CA did not sign is refused.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { createBroker, parseConfig } from '../../src/index.js';
import { freePort } from '../helpers/net.js';
import { startRedis } from '../helpers/redis.js';
import { requireTool } from '../helpers/tools.js';
import { makeBasePki } from '../transport/pki.js';

test('a node reaches Redis over TLS with its CA and client certificate; without the CA it is refused', {
  skip: requireTool('redis-server', 'openssl'),
}, async () => {
  // Only what this test needs: a CA, Redis' certificate, a node's, and a CA that signed neither.
  const pkiFiles = makeBasePki('/CN=culex-node', 'culex-redis-pki-');
  const tlsPort = await freePort();
  const redis = await startRedis({
    args: [
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      pkiFiles.serverCert,
      '--tls-key-file',
      pkiFiles.serverKey,
      '--tls-ca-cert-file',
      pkiFiles.caCert,
      '--tls-auth-clients',
      'yes',
    ],
  });
  try {
    const common = `log_dest none\ncluster_redis_url rediss://127.0.0.1:${tlsPort}\ncluster_node_id tls1\n`;
    const files = `cluster_redis_certfile ${pkiFiles.clientCert}\ncluster_redis_keyfile ${pkiFiles.clientKey}\n`;
    const broker = await createBroker(
      parseConfig(
        `listener ${await freePort()} 127.0.0.1\n${common}${files}cluster_redis_cafile ${pkiFiles.caCert}\n`,
      ),
    );
    try {
      assert.equal(broker.cluster?.link.up, true);
      assert.equal(await broker.cluster?.link.redis.ping(), 'PONG');
    } finally {
      await broker.stop();
    }
    await assert.rejects(
      createBroker(
        parseConfig(
          `listener ${await freePort()} 127.0.0.1\n${common}${files}cluster_redis_cafile ${pkiFiles.foreignCaCert}\n`,
        ),
      ),
      /cannot connect to Redis at rediss:.*(self.signed|unable to verify|certificate)/i,
    );
  } finally {
    await redis.stop();
    rmSync(pkiFiles.dir, { recursive: true, force: true });
  }
});
