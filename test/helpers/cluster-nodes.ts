// In-process cluster nodes for the cluster's tests: each a createBroker() from a mosquitto.conf text with the
// cluster options, on its own loopback port, sharing one redis-server, with its log lines kept.

import type { Logger, LogLevel } from '../../src/broker/logger.js';
import { type ConfiguredBroker, createBroker } from '../../src/server/create-broker.js';
import { parseConfig } from '../../src/server/load-config.js';
import { freePort } from './net.js';

export interface TestNode {
  readonly id: string;
  readonly port: number;
  readonly broker: ConfiguredBroker;
  readonly lines: string[];
  stop(): Promise<void>;
}

/** A node `id` on `redisUrl` under `prefix`; `extra` lines are appended to the configuration. */
export async function startNode(
  id: string,
  redisUrl: string,
  prefix: string,
  extra: readonly string[] = [],
): Promise<TestNode> {
  const port = await freePort();
  const lines: string[] = [];
  const logger: Logger = {
    enabled: (level: LogLevel) => level !== 'debug',
    log: (_level, message) => {
      lines.push(message);
    },
  };
  const text = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    `cluster_redis_url ${redisUrl}`,
    `cluster_node_id ${id}`,
    `cluster_key_prefix ${prefix}`,
    'cluster_heartbeat_interval 100ms',
    'cluster_node_timeout 500ms',
    ...extra,
    '',
  ].join('\n');
  const broker = await createBroker(parseConfig(text), { logger });
  return { id, port, broker, lines, stop: () => broker.stop() };
}
