// Culex `workers N`: the primary process forks N worker processes (node:cluster) that share the listening
// sockets; each worker is a whole broker and a cluster node of its own, so one host uses all its cores. The
// primary only supervises: it restarts a worker that dies (with backoff), forwards SIGHUP, and stops them all
// on SIGINT / SIGTERM. `workers 1` (the default) forks nothing: one process, as Mosquitto.

import cluster, { type Worker } from 'node:cluster';
import { randomBytes } from 'node:crypto';
import type { Logger } from '../broker/logger.js';
import { defaultNodeId } from '../cluster/cluster-options.js';
import type { CulexConfig } from '../config/config.js';
import { ConfigError, ConfigErrorCode } from '../config/config-error.js';
import { removeStaleSocket } from '../transport/tcp-listener.js';

/** Environment variable carrying a worker's number (1..N) from the primary to the worker. */
export const WORKER_ENV = 'CULEX_WORKER';
/** Environment variable carrying `<name>:<token>` of the direct links between the workers (worker-links.ts). */
export const LINK_ENV = 'CULEX_WORKER_LINK';

/** First restart delay after a worker died; doubled for each further death of a worker that ran briefly. */
export const RESTART_BASE_MS = 250;
/** Longest wait before a restart. */
export const RESTART_MAX_MS = 30_000;
/** A worker that ran this long is healthy again: its next death restarts it after RESTART_BASE_MS. */
export const RESTART_RESET_MS = 60_000;
/** A worker still alive this long after SIGTERM is killed (SIGKILL). */
export const STOP_TIMEOUT_MS = 10_000;

/** The message a worker sends the primary once its listeners are open. */
const READY = 'culex:worker-ready';

/** In a worker process: its number (1..N). Undefined in the primary and in a single-process broker. */
export function workerNumber(): number | undefined {
  if (!cluster.isWorker) return undefined;
  const n = Number(process.env[WORKER_ENV]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** True when this process must supervise workers instead of running a broker. */
export function isPrimaryOfWorkers(config: CulexConfig): boolean {
  return config.workers > 1 && cluster.isPrimary;
}

/**
 * Refuses `workers N` (N > 1) where workers cannot work: they share state only through the cluster's Redis.
 * Thrown as a ConfigError on the `workers` line (exit 3, like every bad configuration).
 */
export function checkWorkers(config: CulexConfig): void {
  if (config.workers <= 1) return;
  const site = config.workersSite;
  const refuse: (reason: string) => never = (reason) => {
    throw new ConfigError({
      code: ConfigErrorCode.invalidValue,
      file: site?.file ?? '--workers',
      line: site?.line ?? 0,
      option: 'workers',
      reason,
    });
  };
  if (config.cluster === undefined) {
    refuse(
      `${config.workers} worker processes need cluster_redis_url: each worker is a cluster node, and nodes share sessions, routes and retained messages only through Redis`,
    );
  }
  // Worker k is node `<id>-w<k>`: the suffix must fit in a node id's 64 characters.
  const id = config.cluster.nodeId;
  if (id !== undefined && id.length + `-w${config.workers}`.length > 64) {
    refuse(
      `with ${config.workers} workers, cluster_node_id may be at most ${64 - `-w${config.workers}`.length} characters (each worker adds -w<k>)`,
    );
  }
}

/**
 * What a worker changes in the configuration it read: its node id is the configured one (or the default,
 * `<hostname>-<first listener port>`) + `-w<k>`, the same after a restart; bridges run in worker 1 only (N
 * bridges with one client id would take each other over at the remote broker; messages reach worker 1 through
 * the cluster); the pid file belongs to the primary.
 */
export function workerConfig(config: CulexConfig, worker: number): CulexConfig {
  const out: CulexConfig = { ...config, bridges: worker === 1 ? config.bridges : [] };
  delete out.pidFile;
  if (config.cluster !== undefined) {
    const base = config.cluster.nodeId ?? defaultNodeId(config.listeners[0]?.port);
    out.cluster = { ...config.cluster, nodeId: `${base}-w${worker}` };
    // QoS 0 copies between the workers go straight from one to the other, not through Redis.
    const link = /^([0-9a-f]{16}):([0-9a-f]{32})$/.exec(process.env[LINK_ENV] ?? '');
    if (link !== null) {
      const nodes = Array.from({ length: config.workers }, (_, k) => `${base}-w${k + 1}`);
      out.cluster.workerLinks = { name: link[1]!, token: link[2]!, self: worker, nodes };
    }
  }
  return out;
}

/** Called by a worker once its broker runs; the primary waits for every worker before "running". */
export function reportReady(): void {
  process.send?.({ culex: READY });
}

interface Slot {
  readonly number: number;
  worker: Worker | undefined;
  ready: boolean;
  startedAt: number;
  /** Deaths in a row of a worker that ran less than RESTART_RESET_MS. */
  failures: number;
  timer: NodeJS.Timeout | undefined;
}

export interface PrimaryOptions {
  config: CulexConfig;
  logger: Logger;
  version: string;
  /** Runs once every worker has stopped, just before the primary exits 0 (removes the pid file). */
  onStopped: () => void;
}

function howItEnded(code: number | null, signal: string | null): string {
  return signal !== null ? `killed by signal ${signal}` : `exited with status ${code ?? 0}`;
}

/** The primary: forks the workers and supervises them until SIGINT / SIGTERM. */
export function runPrimary(options: PrimaryOptions): void {
  const { config, logger, version } = options;
  const slots: Slot[] = [];
  // Names (visible to local users) and authenticates (secret) the direct links between this tree's workers.
  const linkToken = `${randomBytes(8).toString('hex')}:${randomBytes(16).toString('hex')}`;
  let running = false;
  let stopping = false;
  // A Unix socket file left by a previous run is removed once, here: a worker that removed it would unlink the
  // socket the primary already bound for the workers before it.
  for (const l of config.listeners) if (l.unixSocketPath !== undefined) removeStaleSocket(l.unixSocketPath);

  const start = (slot: Slot): void => {
    slot.timer = undefined;
    const worker = cluster.fork({ [WORKER_ENV]: String(slot.number), [LINK_ENV]: linkToken });
    slot.worker = worker;
    slot.ready = false;
    slot.startedAt = Date.now();
    const pid = worker.process.pid ?? 0;
    logger.log('notice', `Worker ${slot.number} started with pid ${pid}.`);
    worker.on('message', (m: unknown) => {
      if ((m as { culex?: unknown } | null)?.culex !== READY) return;
      slot.ready = true;
      if (running) logger.log('notice', `Worker ${slot.number} (pid ${pid}) is running again.`);
      else if (slots.every((s) => s.ready)) {
        running = true;
        logger.log('notice', `culex version ${version} running`);
      }
    });
    worker.on('exit', (code: number | null, signal: string | null) => exited(slot, pid, code, signal));
  };

  const exited = (slot: Slot, pid: number, code: number | null, signal: string | null): void => {
    slot.worker = undefined;
    if (stopping) {
      if (slots.every((s) => s.worker === undefined)) finish();
      return;
    }
    const how = howItEnded(code, signal);
    if (!running) {
      // A worker that cannot start (a listener, Redis, a security file): the broker cannot start. Its own error
      // lines are logged already; the primary exits with its status, as the single process would have.
      logger.log('error', `Worker ${slot.number} (pid ${pid}) ${how} while starting; stopping.`);
      stopAll(typeof code === 'number' && code !== 0 ? code : 1);
      return;
    }
    if (Date.now() - slot.startedAt >= RESTART_RESET_MS) slot.failures = 0;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** slot.failures);
    slot.failures++;
    logger.log(
      'warning',
      `Warning: Worker ${slot.number} (pid ${pid}) ${how}; restarting it in ${delay / 1000} s.`,
    );
    slot.timer = setTimeout(() => start(slot), delay);
  };

  let exitStatus = 0;
  let killTimer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (killTimer !== undefined) clearTimeout(killTimer);
    options.onStopped();
    process.exit(exitStatus);
  };

  const stopAll = (status: number): void => {
    if (stopping) return;
    stopping = true;
    exitStatus = status;
    for (const s of slots) {
      if (s.timer !== undefined) clearTimeout(s.timer);
      s.timer = undefined;
      s.worker?.process.kill('SIGTERM');
    }
    if (slots.every((s) => s.worker === undefined)) {
      finish();
      return;
    }
    killTimer = setTimeout(() => {
      for (const s of slots) {
        if (s.worker === undefined) continue;
        logger.log(
          'warning',
          `Warning: Worker ${s.number} (pid ${s.worker.process.pid ?? 0}) did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it.`,
        );
        s.worker.process.kill('SIGKILL');
      }
    }, STOP_TIMEOUT_MS);
  };

  // Every worker reloads its own configuration, as a single broker does on SIGHUP.
  process.on('SIGHUP', () => {
    for (const s of slots) s.worker?.process.kill('SIGHUP');
  });
  const terminate = (): void => {
    if (stopping) return;
    logger.log('notice', `culex version ${version} terminating`);
    stopAll(0);
  };
  process.on('SIGINT', terminate);
  process.on('SIGTERM', terminate);

  logger.log('notice', `Starting ${config.workers} worker processes.`);
  for (let n = 1; n <= config.workers; n++) {
    const slot: Slot = {
      number: n,
      worker: undefined,
      ready: false,
      startedAt: 0,
      failures: 0,
      timer: undefined,
    };
    slots.push(slot);
    start(slot);
  }
}
