// The shape of the Redis failover tests (Sentinel, Redis Cluster): two culex processes on one Redis deployment;
// a persistent subscriber registers on node B and goes away; publishers load node A with QoS 1/2 while the test
// fails Redis over; then the subscriber resumes on B and everything acknowledged is tallied.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import {
  type Collected,
  collectAll,
  connect,
  type Ledger,
  loadUntilClosed,
  type Tally,
  tally,
} from './kill-load.js';
import { sleep } from './net.js';

/** A node's configuration: loopback listener, 200 ms heartbeats, the Redis lines, WAIT for one replica unless `noWait`. */
export function failoverNodeConf(
  dir: string,
  id: string,
  port: number,
  redisLines: readonly string[],
  noWait = false,
): string {
  const conf = join(dir, `${id}.conf`);
  const text = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    ...redisLines,
    `cluster_node_id ${id}`,
    'cluster_heartbeat_interval 200ms',
    'cluster_node_timeout 2s',
    ...(noWait ? [] : ['cluster_redis_wait_replicas 1', 'cluster_redis_wait_timeout 2s']),
    'max_queued_messages 0',
    'connection_messages false',
    'log_dest stderr',
    'log_type error',
    'log_type warning',
    'log_type notice',
    '',
  ];
  writeFileSync(conf, text.join('\n'));
  return conf;
}

export interface FailoverOutcome {
  /** Acknowledged before `failOver` started, and after it returned (until the load stopped). */
  before: number;
  after: number;
  tally: Tally;
  collected: Collected;
  /** Publisher connections made (each lasts until the broker closes it). */
  connections: number;
  /** ms `failOver` took. */
  failoverMs: number;
}

/**
 * Runs the load of node A (`portA`) for node B's (`portB`) persistent subscriber `durable` on `load/#`, calls
 * `failOver` 700 ms in, keeps the load going `settleMs` after it returns (at most `rate` messages a second per
 * publisher connection when given), then collects on B.
 */
export async function loadThroughFailover(
  portA: number,
  portB: number,
  failOver: () => Promise<void>,
  settleMs = 2000,
  rate?: number,
): Promise<FailoverOutcome> {
  const ledger: Ledger = { sent: new Set(), acked: new Set(), retainedAcked: new Map() };
  const durable = await connect(portB, { clientId: 'durable', clean: false });
  await durable.subscribeAsync('load/#', { qos: 2 });
  await routeKnown(portA, durable, ledger);
  await durable.endAsync();

  let publisher: MqttClient | undefined;
  let connections = 0;
  let loading = true;
  const load = (async () => {
    for (let iter = 1; loading; iter++) {
      try {
        publisher = await connect(portA, { clientId: `pub-${iter}`, clean: true });
      } catch {
        await sleep(100);
        continue;
      }
      connections++;
      await loadUntilClosed(publisher, iter, ledger, rate);
    }
  })();
  try {
    await sleep(700);
    const before = ledger.acked.size;
    const started = Date.now();
    await failOver();
    const failoverMs = Date.now() - started;
    const atFailover = ledger.acked.size;
    await sleep(settleMs);
    loading = false;
    publisher?.end(true);
    await load;
    const after = ledger.acked.size - atFailover;
    const collected = await collectAll(portB, 'durable', ledger, new Map(), 30_000);
    return { before, after, tally: tally(ledger, collected), collected, connections, failoverMs };
  } finally {
    loading = false;
    publisher?.end(true);
  }
}

/**
 * Publishes probes on node A until one reaches `durable` on B: node A then routes `load/#` to B. (A node that
 * hears of a route late can miss what is published meanwhile, docs/cluster.md; on a Redis Cluster, whose
 * pub/sub crosses the cluster bus, that took ~100 ms on a loaded machine.) Probes count as sent, not acknowledged.
 */
async function routeKnown(portA: number, durable: MqttClient, ledger: Ledger): Promise<void> {
  const probe = await connect(portA, { clientId: 'probe', clean: true });
  let arrived = false;
  const seen = (topic: string): void => {
    if (topic === 'load/probe') arrived = true;
  };
  durable.on('message', seen);
  try {
    for (let i = 0; !arrived; i++) {
      if (i === 100) throw new Error('node A never routed load/# to node B');
      ledger.sent.add(`probe:${i}`);
      await probe.publishAsync('load/probe', `probe:${i}`, { qos: 1 });
      for (let t = 0; t < 10 && !arrived; t++) await sleep(10);
    }
  } finally {
    durable.off('message', seen);
    await probe.endAsync();
  }
}

/** The figures of an outcome, one line, for the test's output. */
export function describeOutcome(o: FailoverOutcome): string {
  const t = o.tally;
  return `acknowledged ${t.acknowledged} (${o.before} before the failover, ${o.after} after it), delivered ${t.delivered}, lost ${t.lost.length}, QoS 2 duplicated ${t.duplicatedQos2.length}, QoS 1 duplicated ${t.duplicatedQos1}, publisher connections ${o.connections}; the subscriber's session present ${o.collected.sessionPresent} after ${o.collected.attempts} CONNECT(s)`;
}
