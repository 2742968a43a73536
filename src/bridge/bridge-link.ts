// One bridge: a client of the remote broker and, as Mosquitto's bridge context is, a client of the local broker.
// Packets are relayed with their packet identifiers unchanged, so an acknowledgement travels back end to end: the
// local broker's persistent session holds what the remote has not acknowledged, and the remote's session what
// the local broker has not, which is what carries QoS 1 / 2 across an outage of either side.

import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../broker/logger.js';
import type {
  AckPacket,
  ConnackPacket,
  ConnectPacket,
  Packet,
  PublishPacket,
  QoS,
  Subscription,
} from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { RestartDelay } from './backoff.js';
import type { BridgeConfig } from './bridge-config.js';
import { duplexPair } from './duplex-pair.js';
import { type EndpointSink, MqttEndpoint } from './mqtt-endpoint.js';
import { openRemoteSocket, probe } from './remote-socket.js';
import { toLocal, toRemote } from './topic-map.js';

/** What a bridge needs from the local broker: nothing more than a listener would give it. */
export interface BridgeHost {
  /** Hands the broker the local end of an in-memory pair, as a listener hands it a socket. */
  connectLocal(stream: Duplex, remoteAddress: string): void;
  /** Publishes as the broker itself (notifications on the local side). */
  publishLocal(topic: string, payload: Buffer, qos: QoS, retain: boolean): void;
  /** Messages queued in the local session `clientId` (lazy start's threshold). */
  queuedFor(clientId: string): number;
  readonly logger: Logger;
}

export type BridgeState = 'stopped' | 'waiting' | 'connecting' | 'up' | 'idle';

export interface BridgeStats {
  state: BridgeState;
  /** Address of the current or last attempt. */
  address: string;
  connects: number;
  messagesOut: number;
  messagesIn: number;
  bytesOut: number;
  bytesIn: number;
  /** Messages received from one side that no topic of the bridge maps to the other. */
  unmapped: number;
  queued: number;
}

/** MQTT 3.1.1 CONNACK return codes as Mosquitto's bridge logs them. */
const REFUSED: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'identifier rejected',
  3: 'broker unavailable',
  4: 'bad user name or password',
  5: 'not authorised',
};
/** Seconds between failback probes of the primary address (Mosquitto's bridge primary_retry). */
const FAILBACK_PROBE_S = 5;
const LAZY_POLL_MS = 1000;
const SESSION_NEVER_EXPIRES = 0xffff_ffff;

export class BridgeLink implements EndpointSink {
  private state: BridgeState = 'stopped';
  private remote: MqttEndpoint | undefined;
  private local: MqttEndpoint | undefined;
  private localReady = false;
  /** Packets from the remote broker that arrived before the local side was ready. */
  private held: Packet[] = [];
  /** Packet identifiers of our own PUBLISH / SUBSCRIBE to the remote (their acks are not relayed). */
  private readonly ownIds = new Set<number>();
  private nextOwnId = 65535;
  private addressIndex = 0;
  private tryPrivateNow: boolean;
  private readonly delay: RestartDelay;
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  private lastFailure = '';
  private lastTraffic = 0;
  private primed = false;
  private remotePaused = false;
  private localPaused = false;
  readonly stats: BridgeStats;

  constructor(
    readonly config: BridgeConfig,
    private readonly host: BridgeHost,
  ) {
    this.tryPrivateNow = config.tryPrivate && config.protocolVersion !== 5;
    this.delay = new RestartDelay(config.restartTimeout);
    this.stats = {
      state: 'stopped',
      address: '',
      connects: 0,
      messagesOut: 0,
      messagesIn: 0,
      bytesOut: 0,
      bytesIn: 0,
      unmapped: 0,
      queued: 0,
    };
  }

  get name(): string {
    return this.config.name;
  }

  private get logger(): Logger {
    return this.host.logger;
  }

  private setState(state: BridgeState): void {
    this.state = state;
    this.stats.state = state;
  }

  /** Starts the bridge as its start_type says; a lazy bridge waits for `threshold` queued messages. */
  start(): void {
    if (this.state !== 'stopped') return;
    this.notifyLocal('0');
    this.primeLocal();
    this.pollTimer = setInterval(() => this.poll(), LAZY_POLL_MS);
    this.pollTimer.unref();
    if (this.config.startType === 'lazy') this.setState('idle');
    else this.connect();
  }

  /** Stops the bridge: the remote is told the link is down, both sides get a DISCONNECT. */
  stop(): void {
    this.generation++;
    this.setState('stopped');
    clearTimeout(this.timer);
    clearInterval(this.pollTimer);
    this.shutLink('bridge stopped');
  }

  /** Drops the link now and connects again at once (runtime control). */
  restart(): void {
    if (this.state === 'stopped') return;
    this.shutLink('bridge restarted');
    this.delay.reset();
    clearTimeout(this.timer);
    this.connect();
  }

  /**
   * Creates the local session and its subscriptions before the first connect, so that what is published
   * while the remote broker is unreachable queues there (not for local_cleansession true, as in Mosquitto).
   */
  private primeLocal(): void {
    if (this.primed || this.config.localCleanSession) return;
    this.primed = true;
    const [mine, theirs] = duplexPair();
    const prime = new MqttEndpoint(mine, 5, {
      onPacket: (endpoint, packet) => {
        if (packet.type === 2) endpoint.send(this.localSubscribe(2));
        else if (packet.type === 9) endpoint.close('primed', { type: 14, reasonCode: 0 });
      },
      onClose: () => {},
    });
    this.host.connectLocal(theirs, `bridge ${this.name}`);
    prime.send(this.localConnect());
  }

  private poll(): void {
    const config = this.config;
    if (config.startType !== 'lazy') return;
    if (this.state === 'idle') {
      this.stats.queued = this.host.queuedFor(config.localClientId);
      if (this.stats.queued >= config.threshold) this.connect();
    } else if (this.state === 'up' && Date.now() - this.lastTraffic >= config.idleTimeout * 1000) {
      this.logger.log(
        'notice',
        `Bridge ${this.name} stopping after ${config.idleTimeout} s idle (lazy start).`,
      );
      this.shutLink('idle timeout');
      this.setState('idle');
    }
  }

  private connect(): void {
    const generation = ++this.generation;
    const config = this.config;
    const address = config.addresses[this.addressIndex] ?? config.addresses[0]!;
    const where = `${address.host}:${address.port}`;
    this.stats.address = where;
    this.setState('connecting');
    const quiet = this.lastFailure !== '';
    this.logger.log(quiet ? 'debug' : 'notice', `Connecting bridge ${this.name} (${where})`);
    openRemoteSocket(config, address).then(
      (socket) => {
        if (generation !== this.generation) socket.destroy();
        else this.remoteConnected(socket);
      },
      (err: Error) => {
        if (generation === this.generation) this.failed(`Error creating bridge: ${err.message}.`);
      },
    );
  }

  private remoteConnected(socket: Socket): void {
    const config = this.config;
    const maxPacket = config.maxPacketSize;
    const remote = new MqttEndpoint(socket, config.protocolVersion, this, 0);
    this.remote = remote;
    if (config.protocolVersion === 5 && (config.maxTopicAlias ?? 0) > 0) remote.acceptAliases();
    const connect: ConnectPacket = {
      type: 1,
      protocolName: config.protocolVersion === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: config.protocolVersion,
      cleanStart: config.cleanSession,
      keepAlive: config.keepaliveInterval,
      clientId: config.remoteClientId,
      bridge: this.tryPrivateNow,
    };
    if (config.remoteUsername !== undefined) connect.username = config.remoteUsername;
    if (config.remotePassword !== undefined) connect.password = Buffer.from(config.remotePassword);
    if (config.notifications && !config.notificationsLocalOnly) {
      connect.will = { topic: config.notificationTopic, payload: Buffer.from('0'), qos: 1, retain: true };
    }
    if (config.protocolVersion === 5) {
      const properties: Properties = {};
      // Without bridge_session_expiry_interval a persistent (cleansession false) bridge keeps its remote
      // session for good, as a 3.1.1 bridge does: a bridge that reconnects must find what the remote held.
      const expiry = config.sessionExpiryInterval ?? (config.cleanSession ? 0 : SESSION_NEVER_EXPIRES);
      if (expiry > 0) properties.sessionExpiryInterval = expiry;
      if (config.receiveMaximum !== undefined) properties.receiveMaximum = config.receiveMaximum;
      if ((config.maxTopicAlias ?? 0) > 0) properties.topicAliasMaximum = config.maxTopicAlias!;
      if (maxPacket > 0) properties.maximumPacketSize = maxPacket;
      connect.properties = properties;
    }
    remote.send(connect);
  }

  /** A failed attempt or a lost link: log it once per kind of failure, then wait as restart_timeout says. */
  private failed(why: string): void {
    const again = why === this.lastFailure;
    this.lastFailure = why;
    this.logger.log(again ? 'debug' : 'notice', why);
    this.shutLink(why);
    if (this.config.addresses.length > 1)
      this.addressIndex = (this.addressIndex + 1) % this.config.addresses.length;
    this.retryLater();
  }

  private retryLater(): void {
    if (this.state === 'stopped') return;
    if (this.config.startType === 'once') {
      this.setState('stopped');
      clearInterval(this.pollTimer);
      return;
    }
    if (this.config.startType === 'lazy') {
      this.setState('idle');
      return;
    }
    this.setState('waiting');
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.delay.next());
    this.timer.unref();
  }

  /** Closes both sides; publishes the local "0" when the link had been up. */
  private shutLink(why: string): void {
    const remote = this.remote;
    const local = this.local;
    const wasUp = this.localReady;
    this.remote = undefined;
    this.local = undefined;
    this.localReady = false;
    this.held = [];
    this.ownIds.clear();
    clearTimeout(this.failbackTimer);
    if (remote !== undefined) {
      this.stats.bytesOut += remote.bytesOut;
      this.stats.bytesIn += remote.bytesIn;
    }
    if (remote !== undefined && !remote.isClosed) {
      const config = this.config;
      if (wasUp && config.notifications && !config.notificationsLocalOnly) {
        // A normal DISCONNECT discards the will: say "0" ourselves.
        remote.send(this.statePublish(this.ownId(), '0'));
      }
      remote.close(why, { type: 14, reasonCode: 0 });
    }
    if (local !== undefined && !local.isClosed) local.close(why, { type: 14, reasonCode: 0 });
    if (wasUp) this.notifyLocal('0');
  }

  private failbackTimer: NodeJS.Timeout | undefined;

  private scheduleFailback(): void {
    if (this.config.roundRobin || this.addressIndex === 0) return;
    const primary = this.config.addresses[0]!;
    const generation = this.generation;
    this.failbackTimer = setTimeout(async () => {
      const reachable = await probe(primary);
      if (generation !== this.generation || this.state !== 'up') return;
      if (!reachable) {
        this.scheduleFailback();
        return;
      }
      this.logger.log('notice', `Bridge ${this.name}: primary address reachable again, failing back.`);
      this.shutLink('failing back to the primary address');
      this.addressIndex = 0;
      this.connect();
    }, FAILBACK_PROBE_S * 1000);
    this.failbackTimer.unref();
  }

  private ownId(): number {
    let id = this.nextOwnId;
    while (this.ownIds.has(id)) id = id <= 1 ? 65535 : id - 1;
    this.nextOwnId = id <= 1 ? 65535 : id - 1;
    this.ownIds.add(id);
    return id;
  }

  private statePublish(packetId: number, value: '0' | '1'): PublishPacket {
    return {
      type: 3,
      topic: this.config.notificationTopic,
      payload: Buffer.from(value),
      qos: 1,
      retain: true,
      dup: false,
      packetId,
    };
  }

  private notifyLocal(value: '0' | '1'): void {
    if (!this.config.notifications) return;
    this.host.publishLocal(this.config.notificationTopic, Buffer.from(value), 1, true);
  }

  private localConnect(): ConnectPacket {
    const config = this.config;
    const properties: Properties = {
      sessionExpiryInterval: config.localCleanSession ? 0 : SESSION_NEVER_EXPIRES,
    };
    const connect: ConnectPacket = {
      type: 1,
      protocolName: 'MQTT',
      protocolVersion: 5,
      cleanStart: config.localCleanSession,
      keepAlive: 0,
      clientId: config.localClientId,
      properties,
    };
    if (config.localUsername !== undefined) connect.username = config.localUsername;
    if (config.localPassword !== undefined) connect.password = Buffer.from(config.localPassword);
    return connect;
  }

  /** Local subscriptions to the out topics: No Local and Retain As Published, as Mosquitto's bridge context. */
  private localSubscribe(retainHandling: 0 | 2): Packet {
    const subscriptions: Subscription[] = [];
    for (const t of this.config.topics) {
      if (t.direction === 'in') continue;
      subscriptions.push({
        topicFilter: t.localTopic,
        qos: t.qos,
        noLocal: true,
        retainAsPublished: true,
        retainHandling,
      });
    }
    return { type: 8, packetId: 1, subscriptions };
  }

  private remoteUp(connack: ConnackPacket): void {
    const config = this.config;
    const remote = this.remote!;
    this.lastFailure = '';
    this.delay.reset();
    this.stats.connects++;
    this.lastTraffic = Date.now();
    this.logger.log('notice', `Bridge ${this.name} connected to ${this.stats.address}.`);
    const props = connack.properties;
    const keepalive = props?.serverKeepAlive ?? config.keepaliveInterval;
    remote.keepalive(keepalive);
    if (config.attemptUnsubscribe) {
      const outOnly = config.topics.filter((t) => t.direction === 'out').map((t) => t.remoteTopic);
      if (outOnly.length > 0) remote.send({ type: 10, packetId: this.ownId(), topicFilters: outOnly });
    }
    const incoming: Subscription[] = config.topics
      .filter((t) => t.direction !== 'out')
      .map((t) => ({
        topicFilter: t.remoteTopic,
        qos: t.qos,
        noLocal: true,
        retainAsPublished: true,
        retainHandling: 0,
      }));
    if (incoming.length > 0) remote.send({ type: 8, packetId: this.ownId(), subscriptions: incoming });
    if (config.notifications && !config.notificationsLocalOnly)
      remote.send(this.statePublish(this.ownId(), '1'));
    this.openLocal(props);
    this.scheduleFailback();
  }

  private openLocal(remoteProps: Properties | undefined): void {
    const [mine, theirs] = duplexPair();
    const local = new MqttEndpoint(mine, 5, this);
    this.local = local;
    this.host.connectLocal(theirs, `bridge ${this.name}`);
    const connect = this.localConnect();
    // The local broker keeps no more in flight towards us than the remote broker accepts from us.
    const receiveMaximum = remoteProps?.receiveMaximum;
    if (receiveMaximum !== undefined) connect.properties!.receiveMaximum = receiveMaximum;
    const limits = [this.config.maxPacketSize, remoteProps?.maximumPacketSize ?? 0].filter((n) => n > 0);
    if (limits.length > 0) connect.properties!.maximumPacketSize = Math.min(...limits);
    local.send(connect);
  }

  onPacket(endpoint: MqttEndpoint, packet: Packet): void {
    if (endpoint === this.remote) this.fromRemote(packet);
    else if (endpoint === this.local) this.fromLocal(packet);
  }

  onClose(endpoint: MqttEndpoint, why: string): void {
    if (this.state === 'stopped' || this.state === 'idle') return;
    if (endpoint === this.remote)
      this.failed(`Bridge ${this.name}: connection to ${this.stats.address} lost: ${why}.`);
    else if (endpoint === this.local) this.failed(`Bridge ${this.name}: local connection lost: ${why}.`);
  }

  private fromRemote(packet: Packet): void {
    switch (packet.type) {
      case 2:
        this.remoteConnack(packet);
        return;
      case 3:
      case 6:
        if (!this.localReady) this.held.push(packet);
        else this.relayIn(packet);
        return;
      case 4:
      case 5:
      case 7:
        if (packet.type === 4 && this.ownIds.delete(packet.packetId)) return;
        this.local?.send(ackCopy(packet));
        return;
      case 9:
        this.ownIds.delete(packet.packetId);
        this.logRefusedSubscriptions(packet.reasonCodes);
        return;
      case 11:
        this.ownIds.delete(packet.packetId);
        return;
      case 14:
        this.remote?.close(`DISCONNECT from the remote broker (reason ${packet.reasonCode})`);
        return;
      default:
        return;
    }
  }

  private remoteConnack(packet: ConnackPacket): void {
    if (packet.reasonCode === 0) {
      this.remoteUp(packet);
      return;
    }
    const reason =
      this.config.protocolVersion === 5
        ? (packet.properties?.reasonString ?? `reason code 0x${packet.reasonCode.toString(16)}`)
        : (REFUSED[packet.reasonCode] ?? `return code ${packet.reasonCode}`);
    if (packet.reasonCode === 1 && this.tryPrivateNow) {
      // A broker that does not know Mosquitto's bridge bit refuses the protocol level: try without it.
      this.tryPrivateNow = false;
      this.logger.log('notice', `Connection Refused: broker not a bridge, retrying without try_private.`);
      this.shutLink('retry without try_private');
      this.connect();
      return;
    }
    this.failed(`Bridge ${this.name}: Connection Refused: ${reason}`);
  }

  private logRefusedSubscriptions(codes: readonly number[]): void {
    if (codes.some((c) => c >= 0x80))
      this.logger.log('warning', `Bridge ${this.name}: the remote broker refused a subscription.`);
  }

  private fromLocal(packet: Packet): void {
    switch (packet.type) {
      case 2:
        if (packet.reasonCode !== 0) {
          this.failed(`Bridge ${this.name}: local broker refused the bridge (reason ${packet.reasonCode}).`);
          return;
        }
        if (packet.properties?.serverKeepAlive !== undefined)
          this.local?.keepalive(packet.properties.serverKeepAlive);
        this.local?.send(this.localSubscribe(0));
        return;
      case 9:
        this.localUp();
        return;
      case 3:
        this.relayOut(packet);
        return;
      case 4:
      case 5:
      case 6:
      case 7:
        this.remote?.send(ackCopy(packet));
        return;
      case 14:
        this.local?.close(`DISCONNECT from the local broker (reason ${packet.reasonCode})`);
        return;
      default:
        return;
    }
  }

  private localUp(): void {
    if (this.localReady) return;
    this.localReady = true;
    this.setState('up');
    this.notifyLocal('1');
    const held = this.held;
    this.held = [];
    for (const packet of held) this.relayIn(packet);
  }

  /** A message from the local broker for the remote one. */
  private relayOut(packet: PublishPacket): void {
    const remote = this.remote;
    const topic = toRemote(this.config.topics, packet.topic);
    if (remote === undefined || topic === undefined) {
      this.stats.unmapped++;
      if (packet.qos === 1) this.local?.send({ type: 4, packetId: packet.packetId, reasonCode: 0 });
      else if (packet.qos === 2) this.local?.send({ type: 5, packetId: packet.packetId, reasonCode: 0 });
      return;
    }
    packet.topic = topic;
    if (!this.config.outgoingRetain) packet.retain = false;
    const props = packet.properties;
    if (props !== undefined) {
      if (remote.version !== 5) delete packet.properties;
      else {
        delete props.subscriptionIdentifiers;
        delete props.topicAlias;
      }
    }
    this.stats.messagesOut++;
    this.lastTraffic = Date.now();
    if (!remote.send(packet) && !this.localPaused) this.pauseLocal(remote);
  }

  /** A message or PUBREL from the remote broker for the local one. */
  private relayIn(packet: Packet): void {
    const local = this.local!;
    if (packet.type === 3) {
      const topic = toLocal(this.config.topics, packet.topic);
      if (topic === undefined) {
        this.stats.unmapped++;
        if (packet.qos === 1) this.remote?.send({ type: 4, packetId: packet.packetId, reasonCode: 0 });
        else if (packet.qos === 2) this.remote?.send({ type: 5, packetId: packet.packetId, reasonCode: 0 });
        return;
      }
      packet.topic = topic;
      const props = packet.properties;
      if (props !== undefined) {
        delete props.topicAlias;
        delete props.subscriptionIdentifiers;
      }
      this.stats.messagesIn++;
      this.lastTraffic = Date.now();
    } else {
      packet = ackCopy(packet as AckPacket);
    }
    if (!local.send(packet) && !this.remotePaused) this.pauseRemote(local);
  }

  /** The remote socket is full: stop reading from the local broker, which then queues as for a slow client. */
  private pauseLocal(remote: MqttEndpoint): void {
    const local = this.local;
    if (local === undefined) return;
    this.localPaused = true;
    local.stream.pause();
    remote.stream.once('drain', () => {
      this.localPaused = false;
      local.stream.resume();
    });
  }

  private pauseRemote(local: MqttEndpoint): void {
    const remote = this.remote;
    if (remote === undefined) return;
    this.remotePaused = true;
    remote.stream.pause();
    local.stream.once('drain', () => {
      this.remotePaused = false;
      remote.stream.resume();
    });
  }

  /** Byte counters of the current link, added to the totals. */
  snapshot(): BridgeStats {
    return {
      ...this.stats,
      bytesOut: this.stats.bytesOut + (this.remote?.bytesOut ?? 0),
      bytesIn: this.stats.bytesIn + (this.remote?.bytesIn ?? 0),
      queued: this.host.queuedFor(this.config.localClientId),
    };
  }
}

/** An acknowledgement relayed to the other side keeps its identifier; a 3.1.1 peer's has no reason code. */
function ackCopy(packet: AckPacket): AckPacket {
  return { type: packet.type, packetId: packet.packetId, reasonCode: packet.reasonCode };
}
