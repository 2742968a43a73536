// One node of a Culex cluster on Redis: the node link (inbox, membership), the route table, the forwarder and the
// cluster-wide retained store, plugged into the core through its seams (cluster-hook.ts, the commit participant,
// the retained store), and the `$SYS/broker/cluster/...` topics. Started by createBroker after the listeners.

import type { BrokerCore } from '../broker/broker-core.js';
import type { Logger } from '../broker/logger.js';
import { Message } from '../broker/message.js';
import type { RetainedStore } from '../broker/retained-store.js';
import { type ClusterOptions, defaultNodeId } from './cluster-options.js';
import { Forwarder, type ForwarderCounters } from './forwarder.js';
import { NodeLink } from './node-link.js';
import { describeRedis } from './redis-connect.js';
import { ClusterRetainedStore } from './retained-sync.js';
import { RouteTable } from './route-table.js';
import { WorkerLinks, workerLinksSupported } from './worker-links.js';

/** Moved to cluster-options.ts (src/cli/workers.ts needs it without the cluster); kept here for callers. */
export { defaultNodeId };
export interface ClusterStartOptions {
  logger: Logger;
  /** Port of the first listener, for the default node id `<hostname>-<port>`. */
  firstPort?: number | undefined;
  /** `sys_interval` seconds; 0 = no $SYS topics. */
  sysInterval?: number;
}

export class Cluster {
  private sysTimer: NodeJS.Timeout | undefined;
  private readonly sysPublished = new Map<string, string>();
  private stopped = false;
  /** `workers N`: the direct links to the other workers of this process tree. */
  links: WorkerLinks | undefined = undefined;

  private constructor(
    readonly core: BrokerCore,
    readonly link: NodeLink,
    readonly routes: RouteTable,
    readonly forwarder: Forwarder,
    readonly retained: ClusterRetainedStore,
    private readonly localRetained: RetainedStore,
    private readonly logger: Logger,
  ) {}

  get nodeId(): string {
    return this.link.nodeId;
  }

  /** The forwarder's figures; with `workers N`, QoS 0 copies dropped on a direct link to another worker count too. */
  get counters(): Readonly<ForwarderCounters> {
    const c = this.forwarder.counters;
    const direct = this.links?.counters.dropped ?? 0;
    return direct === 0 ? c : { forwarded: c.forwarded, received: c.received, dropped: c.dropped + direct };
  }

  static async start(core: BrokerCore, options: ClusterOptions, init: ClusterStartOptions): Promise<Cluster> {
    const logger = init.logger;
    const nodeId = options.nodeId ?? defaultNodeId(init.firstPort);
    const link = await NodeLink.start({ options, nodeId, logger, clientCount: () => connectedClients(core) });
    let forwarder: Forwarder | undefined;
    let links: WorkerLinks | undefined;
    try {
      const routes = new RouteTable(link, logger);
      routes.seed(core.sessions);
      // From here on every subscription change is counted (the table is written once the others' are read).
      core.attachCluster(undefined, routes);
      forwarder = new Forwarder(core, link, routes, logger);
      const local = core.retained;
      const retained = new ClusterRetainedStore(local, link, forwarder, logger);
      const cluster = new Cluster(core, link, routes, forwarder, retained, local, logger);
      if (options.workerLinks !== undefined && workerLinksSupported()) {
        links = await WorkerLinks.start(options.workerLinks, logger);
        const f = forwarder;
        links.onRecords = (body, source) => f.receive(body, source);
        forwarder.direct = links;
        cluster.links = links;
      }
      await cluster.listen();
      await routes.load();
      const count = await retained.load(core.now);
      core.retained = retained;
      core.attachCluster(forwarder, routes);
      await routes.flush();
      routes.joinCommits(core.addCommitParticipant(routes));
      cluster.watch();
      cluster.startSys(init.sysInterval ?? 0);
      logger.log(
        'notice',
        `Cluster: node ${nodeId} joined through ${describeRedis(options)} (${link.aliveNodes().length + 1} nodes, ${count} retained messages).`,
      );
      return cluster;
    } catch (err) {
      core.attachCluster(undefined, undefined);
      if (forwarder !== undefined) core.removeCommitParticipant(forwarder);
      await links?.stop();
      await link.stop({ leave: false });
      throw err;
    }
  }

  /** The route and retained channels on the link's pub/sub connection. */
  private async listen(): Promise<void> {
    const { subscriber, keys } = this.link;
    const ackChannel = keys.routesAck(this.nodeId);
    subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const name = channel.toString();
      if (name === keys.routesChannel) this.routes.onChannelMessage(message.toString());
      else if (name === keys.retainedChannel) this.retained.onChannelMessage(message);
      else if (name === ackChannel) this.routes.onAck(message.toString());
    });
    await subscriber.subscribe(keys.routesChannel, keys.retainedChannel, ackChannel);
    let first = true;
    // After a reconnection the channels are subscribed again, but what was said meanwhile is lost: reload.
    subscriber.on('ready', () => {
      if (first || this.stopped) return;
      void this.reload();
    });
    first = false;
  }

  private watch(): void {
    const link = this.link;
    link.addReapTask((id) => this.routes.removeNode(id));
    link.on('nodeDead', (id) => {
      this.routes.cache.dropNode(id);
      this.routes.confirmations.forget(id);
    });
    link.on('rejoined', () => void this.routes.resync());
    link.on('redisUp', () => {
      // Queued turns first, so that reloading the retained copy cannot undo this node's own recent changes.
      void this.forwarder.drain().then(() => this.reload());
    });
  }

  private async reload(): Promise<void> {
    try {
      await this.routes.resync();
      await this.retained.load(this.core.now);
    } catch (err) {
      this.logger.log(
        'debug',
        `Cluster: reload after reconnection failed: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private startSys(interval: number): void {
    if (interval <= 0) return;
    this.publishSys();
    this.sysTimer = setInterval(() => this.publishSys(), interval * 1000);
    this.sysTimer.unref();
  }

  /** `$SYS/broker/cluster/...`, per node like the rest of $SYS, sent when a value changed (retained). */
  private publishSys(): void {
    const c = this.counters;
    const values: [string, number | string][] = [
      ['nodes', this.link.aliveNodes().length + 1],
      ['clients/total', this.link.clientsTotal],
      ['node', this.nodeId],
      ['messages/forwarded', c.forwarded],
      ['messages/received', c.received],
      ['messages/dropped', c.dropped],
    ];
    for (const [name, value] of values) {
      const topic = `$SYS/broker/cluster/${name}`;
      const text = String(value);
      if (this.sysPublished.get(topic) === text) continue;
      this.sysPublished.set(topic, text);
      this.core.publish(new Message(topic, Buffer.from(text), 0, true, undefined, '', 0), null, 'sys');
    }
  }

  /** Detaches from the core (which goes on as a single node), writes what is queued, leaves the cluster. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sysTimer !== undefined) clearInterval(this.sysTimer);
    this.core.attachCluster(undefined, undefined);
    this.core.removeCommitParticipant(this.routes);
    this.routes.leaveCommits();
    if (this.core.retained === this.retained) this.core.retained = this.localRetained;
    this.forwarder.direct = undefined;
    await this.links?.stop();
    await this.forwarder.close(2000);
    await this.link.stop();
  }
}

function connectedClients(core: BrokerCore): number {
  let n = 0;
  for (const conn of core.connections) if (conn.state === 'connected') n++;
  return n;
}

/** Starts cluster mode on a broker core (createBroker calls it after the listeners opened). */
export function startCluster(
  core: BrokerCore,
  options: ClusterOptions,
  init: ClusterStartOptions,
): Promise<Cluster> {
  return Cluster.start(core, options, init);
}
