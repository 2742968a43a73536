// A Redis primary with replicas watched by real Sentinels (redis-server --sentinel), all on loopback ports with
// short timings, for the cluster's failover tests: the primary can be SIGKILLed and a replica promoted.

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canConnect, freePort, sleep } from './net.js';
import { tempDir } from './processes.js';
import { askRedis, type RedisServer, startRedis, waitForReplicasOnline } from './redis.js';
import { findTool } from './tools.js';

export const MASTER_NAME = 'culex';

export interface SentinelSet {
  /** The servers in start order: [0] is the first primary, the others its replicas. */
  readonly servers: RedisServer[];
  readonly sentinelPorts: number[];
  /** `cluster_redis_sentinel` / `cluster_redis_sentinel_master` lines for a node's configuration. */
  readonly confLines: string[];
  /** The port Sentinel names as the primary now. */
  masterPort(): Promise<number>;
  /** Waits until Sentinel names another primary than `port` (a failover finished); returns the new port. */
  waitForFailover(port: number, timeoutMs?: number): Promise<number>;
  /** Waits until the primary on `port` has `count` replicas online (connected and in sync). */
  waitForReplicas(port: number, count: number, timeoutMs?: number): Promise<void>;
  /** What the Sentinels logged so far (for a failing test's message). */
  sentinelLog(): string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server CONF --sentinel` and waits until `port` (plain or TLS, as CONF says) accepts connections;
 * what it writes goes to `log`.
 */
export async function spawnSentinel(
  conf: string,
  port: number,
  log: (text: string) => void,
): Promise<ChildProcess> {
  const bin = findTool('redis-server');
  if (bin === undefined) throw new Error('redis-server is not installed');
  let output = '';
  const child = spawn(bin, [conf, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const add = (d: Buffer): void => {
    output += d.toString();
    log(d.toString());
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  const end = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > end) {
      child.kill('SIGKILL');
      throw new Error(`sentinel did not start: ${output}`);
    }
    await sleep(20);
  }
  return child;
}

export async function startSentinelSet(replicas: number, sentinels: number): Promise<SentinelSet> {
  const master = await startRedis();
  const servers: RedisServer[] = [master];
  const children: ChildProcess[] = [];
  const dirs: string[] = [];
  const logs: string[] = [];
  const stop = async (): Promise<void> => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const s of servers) await s.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < replicas; i++)
      servers.push(await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] }));
    const ports: number[] = [];
    const quorum = Math.floor(sentinels / 2) + 1;
    for (let i = 0; i < sentinels; i++) {
      const port = await freePort();
      const dir = tempDir('culex-sentinel-');
      dirs.push(dir);
      const conf = join(dir, 'sentinel.conf');
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${master.port} ${quorum}`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
          `sentinel failover-timeout ${MASTER_NAME} 3000`,
          `sentinel parallel-syncs ${MASTER_NAME} ${replicas}`,
          '',
        ].join('\n'),
      );
      const index = logs.push('') - 1;
      const child = await spawnSentinel(conf, port, (text) => {
        logs[index] += text;
      });
      children.push(child);
      ports.push(port);
    }
    const set: SentinelSet = {
      servers,
      sentinelPorts: ports,
      confLines: [
        `cluster_redis_sentinel ${ports.map((p) => `127.0.0.1:${p}`).join(',')}`,
        `cluster_redis_sentinel_master ${MASTER_NAME}`,
      ],
      masterPort: async () => {
        for (const port of ports) {
          try {
            const addr = (await askRedis(port, (r) =>
              r.call('SENTINEL', 'get-master-addr-by-name', MASTER_NAME),
            )) as string[] | null;
            if (addr !== null) return Number(addr[1]);
          } catch {}
        }
        throw new Error('no Sentinel answered');
      },
      waitForFailover: async (old, timeoutMs = 15_000) => {
        const end = Date.now() + timeoutMs;
        while (Date.now() < end) {
          const now = await set.masterPort().catch(() => old);
          if (now !== old) return now;
          await sleep(50);
        }
        throw new Error(`no failover from ${old} within ${timeoutMs} ms`);
      },
      waitForReplicas: (port, count, timeoutMs = 10_000) => waitForReplicasOnline(port, count, timeoutMs),
      sentinelLog: () => logs.map((l, i) => `--- sentinel ${ports[i]}\n${l}`).join('\n'),
      stop,
    };
    // Every Sentinel knows the replicas (and, with several, each other) before a failover is asked of them.
    await set.waitForReplicas(master.port, replicas);
    const end = Date.now() + 10_000;
    for (const port of ports) {
      for (;;) {
        const known = (await askRedis(port, (r) => r.call('SENTINEL', 'replicas', MASTER_NAME)).catch(
          () => [],
        )) as unknown[];
        const others = (await askRedis(port, (r) => r.call('SENTINEL', 'sentinels', MASTER_NAME)).catch(
          () => [],
        )) as unknown[];
        if (known.length >= replicas && others.length >= sentinels - 1) break;
        if (Date.now() > end) throw new Error(`Sentinel on ${port} did not discover the others`);
        await sleep(100);
      }
    }
    return set;
  } catch (err) {
    await stop();
    throw err;
  }
}
