// Helpers of the `workers N` tests: the culex command with workers, which worker holds a connection (procfs), a
// Unix socket path the broker may write, and a raw CONNECT over a Unix socket.

import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { freePort, waitFor } from '../helpers/net.js';
import { type BrokerProcess, CULEX_BIN, launchWith, tempDir, writeConf } from '../helpers/processes.js';
import { requireRedis } from '../helpers/redis.js';
import { connectMqtt } from '../transport/clients.js';

export const skip = requireRedis();

/** Cluster lines with short timings: a restarted worker waits out its crashed predecessor's heartbeat key. */
export const cluster = (url: string): string[] => [
  `cluster_redis_url ${url}`,
  'cluster_heartbeat_interval 100ms',
  'cluster_node_timeout 1s',
];

/** Worker number -> pid of its latest process, from the primary's "Worker K started with pid P." lines. */
export function workerPids(log: string): Map<number, number> {
  const pids = new Map<number, number>();
  for (const m of log.matchAll(/Worker (\d+) started with pid (\d+)\./g))
    pids.set(Number(m[1]), Number(m[2]));
  return pids;
}

/**
 * Connects clients to `url` until `enough()` (at most 30): the primary hands connections to the workers in turn,
 * but not in strict alternation (a worker busy taking the last one is skipped).
 */
export async function connectUntil(
  url: string,
  prefix: string,
  enough: (clients: readonly MqttClient[]) => boolean,
  options: IClientOptions | ((i: number) => IClientOptions) = {},
): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  for (let i = 0; i < 30 && !enough(clients); i++) {
    const extra = typeof options === 'function' ? options(i) : options;
    clients.push(await connectMqtt(url, { clientId: `${prefix}${i}`, ...extra }));
  }
  return clients;
}

/**
 * Clients on each of the two workers of `w` (at least `each` per worker; the owner of each is looked up once,
 * through procfs), as [clients of one worker, clients of the other].
 */
export async function clientsOnBothWorkers(
  w: Workers,
  prefix: string,
  each: number,
  options: IClientOptions | ((i: number) => IClientOptions) = {},
): Promise<{ all: MqttClient[]; sides: [MqttClient[], MqttClient[]] }> {
  const pids = [...workerPids(w.proc.log()).values()];
  const byWorker = new Map<number, MqttClient[]>();
  const owner = new Map<MqttClient, number | undefined>();
  const enough = (list: readonly MqttClient[]): boolean => {
    for (const c of list) {
      if (owner.has(c)) continue;
      const pid = ownerOf(c, w.port, pids);
      owner.set(c, pid);
      if (pid !== undefined) byWorker.set(pid, [...(byWorker.get(pid) ?? []), c]);
    }
    return [...byWorker.values()].filter((l) => l.length >= each).length === 2;
  };
  const all = await connectUntil(`mqtt://127.0.0.1:${w.port}`, prefix, enough, options);
  if (!enough(all)) throw new Error(`not ${each} clients on each worker: ${byWorker.size} workers reached`);
  return { all, sides: [...byWorker.values()] as [MqttClient[], MqttClient[]] };
}

/** The worker that holds this client's connection. */
export function ownerOf(client: MqttClient, port: number, pids: Iterable<number>): number | undefined {
  const local = (client.stream as unknown as { localPort?: number }).localPort;
  return [...socketOwners(port, pids, local)][0];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Which of `pids` hold established TCP connections on local port `port` (procfs: sockets by inode); with
 * `peerPort`, only the connection from that client port.
 */
export function socketOwners(port: number, pids: Iterable<number>, peerPort?: number): Set<number> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 01 = ESTABLISHED; field 9 = inode.
      const local = Number.parseInt(f[1]?.split(':')[1] ?? '', 16);
      const peer = Number.parseInt(f[2]?.split(':')[1] ?? '', 16);
      if (f.length > 9 && local === port && f[3] === '01' && (peerPort === undefined || peer === peerPort))
        inodes.add(f[9]!);
    }
  }
  const owners = new Set<number>();
  for (const pid of pids) {
    const dir = `/proc/${pid}/fd`;
    for (const fd of readdirSync(dir)) {
      let target = '';
      try {
        target = readlinkSync(join(dir, fd));
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(target);
      if (m !== null && inodes.has(m[1]!)) owners.add(pid);
    }
  }
  return owners;
}

/** A Unix socket path in a directory the broker may write (started as root it runs as "mosquitto"). */
export function socketPath(): string {
  const dir = join(tempDir('culex-workers-sock-'), 's');
  mkdirSync(dir);
  chmodSync(dir, 0o777);
  return join(dir, 'culex.sock');
}

export interface Workers {
  proc: BrokerProcess;
  port: number;
  dir: string;
}

/** `culex -c conf` with a listener on a free port plus `lines`; resolves once the primary says "running". */
export async function startWorkers(lines: readonly string[], args: readonly string[] = []): Promise<Workers> {
  const dir = tempDir('culex-workers-');
  const port = await freePort();
  const conf = writeConf(dir, port, lines);
  const proc = await launchWith(process.execPath, (c) => [CULEX_BIN, '-c', c, ...args], conf, port);
  if (!(await waitFor(() => / running\n/.test(proc.log()), 30_000))) {
    await proc.stop();
    throw new Error(`the workers did not all start:\n${proc.log()}`);
  }
  return { proc, port, dir };
}

export function testConfig(lines: readonly string[], args: readonly string[] = []) {
  const dir = tempDir('culex-workers-');
  const conf = writeConf(dir, 1883, lines);
  const r = spawnSync(process.execPath, [CULEX_BIN, '-c', conf, '--test-config', ...args], {
    encoding: 'utf8',
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}`, conf };
}

export async function exited(proc: BrokerProcess, ms = 15_000): Promise<string | null> {
  await waitFor(() => proc.exitStatus() !== null, ms);
  return proc.exitStatus();
}

/** Connects to a Unix socket listener, sends a 3.1.1 CONNECT and returns the first 4 bytes back in hex. */
export function unixConnack(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path });
    const id = Buffer.from('unix-client');
    const body = Buffer.concat([Buffer.from([0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, id.length]), id]);
    sock.once('connect', () => sock.write(Buffer.concat([Buffer.from([0x10, body.length]), body])));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.subarray(0, 4).toString('hex'));
    });
    sock.once('error', reject);
  });
}
