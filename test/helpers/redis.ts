// A real redis-server per test, on a free loopback port, in its own temporary directory: started, killed
// (SIGKILL, as a crash) and restarted on the same port and data (AOF), for the cluster's tests.

import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before } from 'node:test';
import { Redis } from 'ioredis';
import { canConnect, freePort, sleep } from './net.js';
import { tempDir } from './processes.js';
import { findTool, requireTool } from './tools.js';

/** node:test `skip` value: false when redis-server is installed (a hard failure under CI=true). */
export function requireRedis(): string | false {
  return requireTool('redis-server');
}

export interface RedisServer {
  readonly port: number;
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly dir: string;
  /** Everything the server wrote so far. */
  log(): string;
  /** SIGKILL: nothing is flushed beyond what its fsync policy already wrote. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (the AOF brings its data back). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  stop(): Promise<void>;
  /** Sends a signal to the running server (SIGSTOP / SIGCONT: a replica that stops answering). */
  signal(name: NodeJS.Signals): void;
}

/**
 * One redis-server for all the tests of a file: started before the first (unless `skip` says redis-server is
 * missing) and stopped after the last. Read its fields only inside tests.
 */
export function redisForFile(skip: string | false, options: RedisOptions = {}): RedisServer {
  let server: RedisServer | undefined;
  const running = (): RedisServer => {
    if (server === undefined)
      throw new Error('redisForFile: the server is not started (read it inside a test)');
    return server;
  };
  before(async () => {
    if (skip === false) server = await startRedis(options);
  });
  after(async () => {
    await server?.stop();
  });
  return {
    get port() {
      return running().port;
    },
    get url() {
      return running().url;
    },
    get dir() {
      return running().dir;
    },
    log: () => running().log(),
    kill: () => running().kill(),
    restart: () => running().restart(),
    stop: () => running().stop(),
    signal: (name) => running().signal(name),
  };
}

export interface RedisOptions {
  /** Extra `--name value` arguments, e.g. ['--appendfsync', 'always']. */
  readonly args?: readonly string[];
  /** A `requirepass` password. */
  readonly password?: string;
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const bin = findTool('redis-server');
  if (bin === undefined) throw new Error('redis-server is not installed');
  const port = await freePort();
  const dir = tempDir('culex-redis-');
  let output = '';
  let child: ChildProcess | undefined;
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'everysec',
    '--protected-mode',
    'no',
    ...(options.password === undefined ? [] : ['--requirepass', options.password]),
    ...(options.args ?? []),
  ];
  const start = async (): Promise<void> => {
    const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    proc.stdout?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    proc.stderr?.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const end = Date.now() + 10_000;
    while (Date.now() < end) {
      if (proc.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if (await canConnect(port)) return;
      await sleep(20);
    }
    throw new Error(`redis-server did not start on ${port}: ${output}`);
  };
  const kill = async (): Promise<void> => {
    const proc = child;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    log: () => output,
    kill,
    restart: start,
    signal: (name) => {
      child?.kill(name);
    },
    stop: async () => {
      child?.kill('SIGCONT');
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One command exchange with the server on `port`, on a connection of its own that does not retry. */
export async function askRedis<T>(port: number, run: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    return await run(r);
  } finally {
    r.disconnect();
  }
}

/** Waits until the primary on `port` has `count` replicas online (connected and in sync). */
export async function waitForReplicasOnline(port: number, count: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const info = await askRedis(port, (r) => r.info('replication')).catch(() => '');
    const online = info.split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
    if (online >= count) return;
    await sleep(50);
  }
  throw new Error(`the primary on ${port} has not ${count} replica(s) online after ${timeoutMs} ms`);
}
