// TLS with Sentinel: a primary and a Sentinel that both listen on TLS only (the Sentinel reaches the primary over
// TLS too); a node finds the primary through the Sentinel with cluster_redis_tls and its CA and client
// certificate, so both the question to the Sentinel and the connection to the primary are TLS. With a CA that
// signed neither, the node is refused at start-up, and the error says it was the certificate.

import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { createBroker, parseConfig } from '../../src/index.js';
import { freePort } from '../helpers/net.js';
import { startRedis } from '../helpers/redis.js';
import { MASTER_NAME, spawnSentinel } from '../helpers/redis-sentinel.js';
import { requireTool } from '../helpers/tools.js';
import { type BasePki, makeBasePki } from '../transport/pki.js';

/** Redis' TLS options: its certificate, key and CA, and a client certificate asked of every peer. */
function tlsArgs(pki: BasePki): string[] {
  return [
    '--tls-cert-file',
    pki.serverCert,
    '--tls-key-file',
    pki.serverKey,
    '--tls-ca-cert-file',
    pki.caCert,
    '--tls-auth-clients',
    'yes',
  ];
}

/** A Sentinel on a TLS-only port, monitoring the primary on its TLS port (tls-replication: it talks TLS to it). */
async function startTlsSentinel(
  pki: BasePki,
  primaryTlsPort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const conf = join(pki.dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      'port 0',
      `tls-port ${port}`,
      `tls-cert-file ${pki.serverCert}`,
      `tls-key-file ${pki.serverKey}`,
      `tls-ca-cert-file ${pki.caCert}`,
      'tls-auth-clients yes',
      'tls-replication yes',
      'bind 127.0.0.1',
      'protected-mode no',
      `dir ${pki.dir}`,
      `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${primaryTlsPort} 1`,
      '',
    ].join('\n'),
  );
  const child = await spawnSentinel(conf, port, () => {});
  return { port, child };
}

test('a node finds its primary through a TLS-only Sentinel and reaches it over TLS; with a foreign CA it is refused', {
  skip: requireTool('redis-server', 'openssl'),
  timeout: 30_000,
}, async () => {
  const pki = makeBasePki('/CN=culex-node', 'culex-sentinel-tls-');
  const primaryTlsPort = await freePort();
  const primary = await startRedis({ args: ['--tls-port', String(primaryTlsPort), ...tlsArgs(pki)] });
  let sentinel: ChildProcess | undefined;
  try {
    const started = await startTlsSentinel(pki, primaryTlsPort);
    sentinel = started.child;
    const conf = async (ca: string) =>
      [
        `listener ${await freePort()} 127.0.0.1`,
        'log_dest none',
        `cluster_redis_sentinel 127.0.0.1:${started.port}`,
        `cluster_redis_sentinel_master ${MASTER_NAME}`,
        'cluster_redis_tls true',
        `cluster_redis_cafile ${ca}`,
        `cluster_redis_certfile ${pki.clientCert}`,
        `cluster_redis_keyfile ${pki.clientKey}`,
        'cluster_node_id stls1',
        '',
      ].join('\n');
    const broker = await createBroker(parseConfig(await conf(pki.caCert)));
    try {
      assert.equal(broker.cluster?.link.up, true);
      assert.equal(await broker.cluster?.link.redis.ping(), 'PONG');
      // The primary the Sentinel named is the TLS port: the node's connection there is TLS as well.
      const info = String(await broker.cluster?.link.redis.call('CLIENT', 'INFO'));
      assert.match(info, new RegExp(`laddr=127\\.0\\.0\\.1:${primaryTlsPort} `), info);
    } finally {
      await broker.stop();
    }
    await assert.rejects(
      createBroker(parseConfig(await conf(pki.foreignCaCert))),
      // ioredis reports only "Connection is closed"; the node names the refused certificate.
      /cannot connect to Redis at Sentinel master "culex".*TLS to Sentinel 127\.0\.0\.1:\d+: .*certificate/,
    );
  } finally {
    sentinel?.kill('SIGKILL');
    await primary.stop();
    rmSync(pki.dir, { recursive: true, force: true });
  }
});
