// A real Redis Cluster on loopback for the tests of `cluster_redis_cluster`: `masters` redis-server processes
// with --cluster-enabled (each with a bus port chosen free, as the default port + 10000 may be taken), joined by
// `redis-cli --cluster create`, with `replicas` replicas per master.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { freePort, sleep } from './net.js';
import { askRedis, type RedisServer, startRedis, waitForReplicasOnline } from './redis.js';

const run = promisify(execFile);

export interface RedisClusterSet {
  readonly servers: RedisServer[];
  /** Asks a live server which port serves `key`'s slot as its master. */
  masterOf(key: string): Promise<number>;
  /** Waits until a live server names a master other than `oldPort` for `key`'s slot; returns its port. */
  waitForPromotion(key: string, oldPort: number, timeoutMs?: number): Promise<number>;
  /** Waits until the server on `port` has `count` replicas online. */
  waitForReplicas(port: number, count: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** CLUSTER SLOTS rows: [start, end, [host, port, id], ...replicas]. */
type SlotRow = [number, number, [string, number, string], ...unknown[]];

export async function startRedisCluster(
  masters: number,
  replicas: number,
  nodeTimeoutMs = 1000,
): Promise<RedisClusterSet> {
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    for (const s of servers) await s.stop();
  };
  try {
    for (let i = 0; i < masters * (1 + replicas); i++)
      servers.push(
        await startRedis({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(nodeTimeoutMs),
            '--cluster-port',
            String(await freePort()),
          ],
        }),
      );
    const addresses = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', [
      '--cluster',
      'create',
      ...addresses,
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
    await waitAll(servers, (info) => info.includes('cluster_state:ok'), 15_000);
    // Replicas sync after the slots are assigned: until they do, a WAIT for one of them times out.
    if (replicas > 0) {
      const rows = (await askRedis(servers[0]!.port, (r) => r.call('CLUSTER', 'SLOTS'))) as SlotRow[];
      for (const row of rows) await waitForReplicasOnline(Number(row[2][1]), replicas, 15_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  const dead = new Set<number>();
  const live = (): RedisServer[] => servers.filter((s) => !dead.has(s.port));
  const masterOf = async (key: string): Promise<number> => {
    for (const s of live()) {
      try {
        return await askRedis(s.port, async (r) => {
          const slot = Number(await r.call('CLUSTER', 'KEYSLOT', key));
          const rows = (await r.call('CLUSTER', 'SLOTS')) as SlotRow[];
          const row = rows.find(([start, end]) => slot >= start && slot <= end);
          if (row === undefined) throw new Error(`no master for slot ${slot}`);
          return Number(row[2][1]);
        });
      } catch {}
    }
    throw new Error('no live Redis Cluster server answered');
  };
  return {
    servers,
    masterOf,
    stop,
    async waitForPromotion(key, oldPort, timeoutMs = 20_000) {
      dead.add(oldPort);
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const port = await masterOf(key).catch(() => oldPort);
        if (port !== oldPort) return port;
        await sleep(100);
      }
      throw new Error(`no replica of ${oldPort} promoted within ${timeoutMs} ms`);
    },
    waitForReplicas: (port, count, timeoutMs = 20_000) => waitForReplicasOnline(port, count, timeoutMs),
  };
}

async function waitAll(
  servers: readonly RedisServer[],
  ok: (info: string) => boolean,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const infos = await Promise.all(
      servers.map((s) => run('redis-cli', ['-p', String(s.port), 'cluster', 'info']).then((r) => r.stdout)),
    );
    if (infos.every(ok)) return;
    if (Date.now() > end) throw new Error(`Redis Cluster not ok: ${infos.join('\n')}`);
    await sleep(100);
  }
}
