// Starts one broker (Culex, Mosquitto or Aedes) pinned to its core, waits until it listens, and stops it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type BrokerName = 'culex' | 'mosquitto' | 'aedes';
export const ALL_BROKERS: readonly BrokerName[] = ['culex', 'mosquitto', 'aedes'];

export interface BrokerStartOptions {
  /** Culex only: `persistence true` with a fresh persistence_location. */
  persistence?: boolean;
  /** Culex only, with `persistence`: `persistence_sync full` (fsync every commit) instead of the default normal. */
  persistenceSync?: 'full';
  /** TCP_NODELAY on every broker (`set_tcp_nodelay true`; Aedes `noDelay`); Culex has it on by default. */
  nodelay?: boolean;
  /** `max_queued_messages` for every broker (default 100000, so that the throughput scenarios drop nothing). */
  maxQueuedMessages?: number;
  /** Cluster benchmark: more config lines (Culex / Mosquitto), e.g. `cluster_redis_url …`, `workers 2`. */
  extraConfig?: readonly string[];
  /** CPU list for taskset (default: core 1, the generator having core 0). */
  cores?: string;
  /** More environment for the process (Aedes' BENCH_AEDES_REDIS / BENCH_AEDES_WORKERS). */
  env?: Readonly<Record<string, string>>;
  /** Wait until stderr shows this text too (e.g. every worker running), not only for the port. */
  readyText?: string;
  /** TLS on the listener, with a fresh self-signed P-256 certificate (`certfile` / `keyfile`; needs `openssl`). */
  tls?: boolean;
  /** `protocol websockets` on the listener (MQTT over WebSocket). */
  websockets?: boolean;
}

/** The listener's extra lines for TLS and WebSockets; the certificate is made in `work` for this run only. */
interface ListenerExtras {
  cert?: { certfile: string; keyfile: string };
  websockets: boolean;
}

function makeCertificate(work: string): { certfile: string; keyfile: string } {
  const certfile = join(work, 'cert.pem');
  const keyfile = join(work, 'key.pem');
  // A P-256 key: the cheapest common handshake, so the scenario measures per-connection costs, not RSA.
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'].concat([
      '-subj',
      '/CN=127.0.0.1',
      '-days',
      '2',
      '-keyout',
      keyfile,
      '-out',
      certfile,
    ]),
    { stdio: 'ignore' },
  );
  // Started as root, the brokers read it as the "mosquitto" user.
  chmodSync(keyfile, 0o644);
  return { certfile, keyfile };
}

export interface RunningBroker {
  name: BrokerName;
  pid: number;
  port: number;
  /** Directory written by the broker's persistence, when enabled. */
  persistenceDir: string | undefined;
  /** Stops the process (SIGTERM, then SIGKILL); its temp directory stays until dispose(). */
  stop(): Promise<void>;
  dispose(): void;
  /** Files the broker wrote into persistenceDir (empty when persistence did nothing). */
  persistenceFiles(): string[];
  stderrTail(): string;
  /** The process and its children (worker processes), for CPU and memory figures. */
  pids(): number[];
}

export class BrokerStartError extends Error {
  constructor(
    readonly broker: BrokerName,
    message: string,
  ) {
    super(message);
  }
}

const BROKER_CORE = '1';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;
const STDERR_KEEP = 16_384;

export interface BrokerPaths {
  repoRoot: string;
  aedesScript: string;
}

/** A free loopback port (the kernel picks it; the broker binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The config both Mosquitto and Culex get (Culex reads mosquitto.conf unchanged). */
function mosquittoConf(
  port: number,
  persistenceDir: string | undefined,
  nodelay: boolean,
  maxQueued: number,
  extras: ListenerExtras,
  sync: 'full' | undefined,
  extra: readonly string[],
): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    ...(extras.websockets ? ['protocol websockets'] : []),
    ...(extras.cert === undefined
      ? []
      : [`certfile ${extras.cert.certfile}`, `keyfile ${extras.cert.keyfile}`]),
    'allow_anonymous true',
    `max_queued_messages ${maxQueued}`,
    'log_dest stderr',
    'log_type error',
  ];
  if (persistenceDir !== undefined) lines.push('persistence true', `persistence_location ${persistenceDir}/`);
  if (persistenceDir !== undefined && sync !== undefined) lines.push(`persistence_sync ${sync}`);
  if (nodelay) lines.push('set_tcp_nodelay true');
  lines.push(...extra);
  return `${lines.join('\n')}\n`;
}

function command(
  name: BrokerName,
  port: number,
  conf: string,
  paths: BrokerPaths,
  extras: ListenerExtras,
): string[] {
  switch (name) {
    case 'culex':
      return [
        process.execPath,
        '--max-semi-space-size=2',
        // Extra node / V8 flags for experiments (docs/performance.md): BENCH_CULEX_FLAGS="--flag --other".
        ...(process.env.BENCH_CULEX_FLAGS ?? '').split(' ').filter((f) => f !== ''),
        join(paths.repoRoot, 'bin', 'culex.js'),
        '-c',
        conf,
      ];
    case 'mosquitto':
      return ['mosquitto', '-c', conf];
    case 'aedes': {
      const transport = extras.websockets
        ? ['ws']
        : extras.cert === undefined
          ? []
          : ['tls', extras.cert.certfile, extras.cert.keyfile];
      return [process.execPath, paths.aedesScript, String(port), ...transport];
    }
  }
}

function waitListening(port: number, child: ChildProcess, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child.exitCode !== null || child.signalCode !== null) {
        reject(new Error(`exited with ${child.exitCode ?? child.signalCode} before listening`));
        return;
      }
      if (Date.now() > deadline) {
        reject(new Error(`not listening on ${port} after ${START_TIMEOUT_MS} ms`));
        return;
      }
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** Direct children of a process (its workers), from procfs. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((p) => p !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts a fresh broker on its own core; rejects with BrokerStartError if it does not come up. */
export async function startBroker(
  name: BrokerName,
  paths: BrokerPaths,
  options: BrokerStartOptions = {},
): Promise<RunningBroker> {
  const port = await freePort();
  const work = mkdtempSync(join(tmpdir(), `culex-bench-${name}-`));
  const persistenceDir = options.persistence === true ? join(work, 'db') : undefined;
  // Started as root, mosquitto and culex switch to the "mosquitto" user: it must be able to write the database.
  chmodSync(work, 0o755);
  if (persistenceDir !== undefined) mkdirSync(persistenceDir, { mode: 0o777 });
  if (persistenceDir !== undefined) chmodSync(persistenceDir, 0o777);
  const conf = join(work, 'broker.conf');
  let extras: ListenerExtras;
  try {
    extras = { websockets: options.websockets === true };
    if (options.tls === true) extras.cert = makeCertificate(work);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw new BrokerStartError(name, `${name}: cannot make a TLS certificate (openssl): ${String(err)}`);
  }
  writeFileSync(
    conf,
    mosquittoConf(
      port,
      persistenceDir,
      options.nodelay === true,
      options.maxQueuedMessages ?? 100_000,
      extras,
      options.persistenceSync,
      options.extraConfig ?? [],
    ),
  );
  const argv = command(name, port, conf, paths, extras);
  const child = spawn('taskset', ['-c', options.cores ?? BROKER_CORE, ...argv], {
    cwd: work,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...options.env, BENCH_NODELAY: options.nodelay === true ? '1' : '0' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  const cleanup = (): void => rmSync(work, { recursive: true, force: true });
  try {
    const deadline = Date.now() + START_TIMEOUT_MS;
    await waitListening(port, child, deadline);
    const text = options.readyText;
    while (text !== undefined && !stderr.includes(text)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "${text}" on stderr`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    child.kill('SIGKILL');
    await waitExit(child, STOP_TIMEOUT_MS);
    cleanup();
    const why = err instanceof Error ? err.message : String(err);
    throw new BrokerStartError(
      name,
      `${name}: ${why}${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`,
    );
  }
  const pid = child.pid ?? 0;
  return {
    name,
    pid,
    port,
    persistenceDir,
    async stop() {
      child.kill('SIGTERM');
      if (!(await waitExit(child, STOP_TIMEOUT_MS))) {
        child.kill('SIGKILL');
        await waitExit(child, STOP_TIMEOUT_MS);
      }
    },
    dispose: cleanup,
    persistenceFiles() {
      if (persistenceDir === undefined) return [];
      try {
        return readdirSync(persistenceDir);
      } catch {
        return [];
      }
    },
    stderrTail() {
      return stderr;
    },
    pids() {
      return [pid, ...childPids(pid)];
    },
  };
}
