// One live bridge connection: the remote broker's socket and the bridge's client connection to the local broker.
// Packets are relayed with their packet identifiers unchanged, so an acknowledgement travels back end to end:
// the local broker's persistent session holds what the remote has not acknowledged, and the remote's session
// what the local broker has not, which carries QoS 1 / 2 across an outage of either side.

import type { Socket } from 'node:net';
import { peerIn } from '../broker/bridge-peer.js';
import type { AckPacket, ConnackPacket, Packet, PublishPacket, QoS } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import type { BridgeConfig } from './bridge-config.js';
import type { BridgeHost, BridgeStats } from './bridge-host.js';
import {
  localConnect,
  localSubscribe,
  remoteConnect,
  remoteSubscribe,
  remoteUnsubscribe,
  statePublish,
} from './bridge-packets.js';
import { duplexPair } from './duplex-pair.js';
import { type EndpointSink, MqttEndpoint } from './mqtt-endpoint.js';
import { toLocal, toRemote } from './topic-map.js';

/** What the relay reports to the bridge that owns it. */
export interface RelayOwner {
  readonly config: BridgeConfig;
  readonly host: BridgeHost;
  readonly stats: BridgeStats;
  /** The remote broker accepted the CONNECT. */
  remoteAccepted(relay: BridgeRelay, connack: ConnackPacket): void;
  remoteRefused(relay: BridgeRelay, connack: ConnackPacket): void;
  /** Both sides are connected and subscribed: messages flow. */
  ready(relay: BridgeRelay): void;
  /** Either side went away (the relay is finished). */
  lost(relay: BridgeRelay, why: string): void;
}

export class BridgeRelay implements EndpointSink {
  private readonly remote: MqttEndpoint;
  private local: MqttEndpoint | undefined;
  private localReady = false;
  /** Packets from the remote broker that arrived before the local side was ready. */
  private held: Packet[] = [];
  /** Packet identifiers of our own PUBLISH / SUBSCRIBE to the remote (their acks are not relayed). */
  private readonly ownIds = new Set<number>();
  private nextOwnId = 65535;
  private remotePaused = false;
  private localPaused = false;
  private finished = false;
  /** What an MQTT 5 remote said it takes (CONNACK Maximum QoS, Retain Available). */
  private remoteMaxQos: QoS = 2;
  private remoteRetain = true;
  lastTraffic = Date.now();

  constructor(
    private readonly owner: RelayOwner,
    socket: Socket,
    tryPrivate: boolean,
  ) {
    const config = owner.config;
    this.remote = new MqttEndpoint(socket, config.protocolVersion, this);
    if (config.protocolVersion === 5 && (config.maxTopicAlias ?? 0) > 0)
      this.remote.acceptAliases(config.maxTopicAlias!);
    this.remote.send(remoteConnect(config, tryPrivate, owner.host.brokerId));
  }

  get isReady(): boolean {
    return this.localReady;
  }

  private get config(): BridgeConfig {
    return this.owner.config;
  }

  /** Subscribes remotely, says "1", and opens the local side (called by the owner after remoteAccepted). */
  start(connack: ConnackPacket): void {
    const config = this.config;
    const remote = this.remote;
    const props = connack.properties;
    remote.keepalive(props?.serverKeepAlive ?? config.keepaliveInterval);
    this.remoteMaxQos = (props?.maximumQoS ?? 2) as QoS;
    this.remoteRetain = props?.retainAvailable !== 0;
    const unsubscribe = remoteUnsubscribe(config, this.ownId());
    if (unsubscribe !== undefined) remote.send(unsubscribe);
    const subscribe = remoteSubscribe(config, this.ownId());
    if (subscribe !== undefined) remote.send(subscribe);
    if (config.notifications && !config.notificationsLocalOnly) {
      remote.send(statePublish(config, this.ownId(), '1'));
    }
    this.openLocal(props);
  }

  private openLocal(remoteProps: Properties | undefined): void {
    const [mine, theirs] = duplexPair();
    const local = new MqttEndpoint(mine, 5, this);
    this.local = local;
    this.owner.host.connectLocal(theirs, `bridge ${this.config.name}`);
    const connect = localConnect(this.config, peerIn(remoteProps));
    const properties = connect.properties!;
    // The local broker keeps no more in flight towards us than the remote broker accepts from us.
    if (remoteProps?.receiveMaximum !== undefined) properties.receiveMaximum = remoteProps.receiveMaximum;
    const limits = [this.config.maxPacketSize, remoteProps?.maximumPacketSize ?? 0].filter((n) => n > 0);
    // The local broker then drops what is too large for the remote, and counts it.
    if (limits.length > 0) properties.maximumPacketSize = Math.min(...limits);
    local.send(connect);
  }

  /** Ends both sides; a link that was up tells the remote "0" first (a normal DISCONNECT drops the will). */
  shut(why: string, announce: boolean): void {
    if (this.finished) return;
    this.finished = true;
    const stats = this.owner.stats;
    stats.bytesOut += this.remote.bytesOut;
    stats.bytesIn += this.remote.bytesIn;
    const config = this.config;
    if (announce && this.localReady && config.notifications && !config.notificationsLocalOnly) {
      this.remote.send(statePublish(config, this.ownId(), '0'));
    }
    this.remote.close(why, { type: 14, reasonCode: 0 });
    this.local?.close(why, { type: 14, reasonCode: 0 });
  }

  /** Bytes of this connection so far (for the counters of a live link). */
  get bytes(): { out: number; in: number } {
    return { out: this.remote.bytesOut, in: this.remote.bytesIn };
  }

  onPacket(endpoint: MqttEndpoint, packet: Packet): void {
    if (this.finished) return;
    if (endpoint === this.remote) this.fromRemote(packet);
    else this.fromLocal(packet);
  }

  onClose(endpoint: MqttEndpoint, why: string): void {
    if (this.finished) return;
    const remote = endpoint === this.remote;
    const side = remote ? `connection to ${this.owner.stats.address}` : 'local connection';
    this.shut(why, false);
    const logger = this.owner.host.logger;
    // Mosquitto names the bridge by its local client id when the remote link goes.
    if (remote && this.localReady)
      logger.log('notice', `Client ${this.config.localClientId} closed its connection.`);
    this.owner.lost(this, `Bridge ${this.config.name}: ${side} lost: ${why}.`);
  }

  private ownId(): number {
    let id = this.nextOwnId;
    while (this.ownIds.has(id)) id = id <= 1 ? 65535 : id - 1;
    this.nextOwnId = id <= 1 ? 65535 : id - 1;
    this.ownIds.add(id);
    return id;
  }

  private fromRemote(packet: Packet): void {
    switch (packet.type) {
      case 2:
        if (packet.reasonCode === 0) this.owner.remoteAccepted(this, packet);
        else this.owner.remoteRefused(this, packet);
        return;
      case 3:
      case 6:
        if (this.localReady) this.relayIn(packet);
        else this.held.push(packet);
        return;
      case 4:
      case 5:
      case 7:
        if (packet.type === 4 && this.ownIds.delete(packet.packetId)) return;
        this.local?.send(ackCopy(packet));
        return;
      case 9:
        this.ownIds.delete(packet.packetId);
        if (packet.reasonCodes.some((c) => c >= 0x80)) {
          this.owner.host.logger.log(
            'warning',
            `Bridge ${this.config.name}: the remote broker refused a subscription.`,
          );
        }
        return;
      case 11:
        this.ownIds.delete(packet.packetId);
        return;
      case 14:
        this.remote.close(`DISCONNECT from the remote broker (reason ${packet.reasonCode})`);
        return;
      default:
        return;
    }
  }

  private fromLocal(packet: Packet): void {
    const local = this.local!;
    switch (packet.type) {
      case 2:
        if (packet.reasonCode !== 0) {
          local.close(`the local broker refused the bridge (reason ${packet.reasonCode})`);
          return;
        }
        local.keepalive(packet.properties?.serverKeepAlive ?? 0);
        {
          // An in-only bridge subscribes to nothing locally: it is ready at once.
          const subscribe = localSubscribe(this.config, 0, this.remoteMaxQos);
          if (subscribe === undefined) this.localUp();
          else local.send(subscribe);
        }
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
        this.remote.send(ackCopy(packet));
        return;
      case 14:
        local.close(`DISCONNECT from the local broker (reason ${packet.reasonCode})`);
        return;
      default:
        return;
    }
  }

  private localUp(): void {
    if (this.localReady) return;
    this.localReady = true;
    this.owner.ready(this);
    const held = this.held;
    this.held = [];
    for (const packet of held) this.relayIn(packet);
  }

  /** Acknowledges a message no topic maps, so that neither side keeps it in flight for ever. */
  private dropUnmapped(to: MqttEndpoint | undefined, packet: PublishPacket): void {
    this.owner.stats.unmapped++;
    if (packet.qos > 0)
      to?.send({ type: packet.qos === 1 ? 4 : 5, packetId: packet.packetId, reasonCode: 0 });
  }

  /** A message from the local broker for the remote one. */
  private relayOut(packet: PublishPacket): void {
    const remote = this.remote;
    const topic = toRemote(this.config.topics, packet.topic);
    if (topic === undefined) {
      this.dropUnmapped(this.local, packet);
      return;
    }
    packet.topic = topic;
    if (!this.config.outgoingRetain || !this.remoteRetain) packet.retain = false;
    stripProperties(packet, remote.version === 5);
    this.owner.stats.messagesOut++;
    this.lastTraffic = Date.now();
    if (!remote.send(packet) && !this.localPaused) this.pauseLocal();
  }

  /** A message or PUBREL from the remote broker for the local one. */
  private relayIn(packet: Packet): void {
    const local = this.local!;
    if (packet.type === 3) {
      const topic = toLocal(this.config.topics, packet.topic);
      if (topic === undefined) {
        this.dropUnmapped(this.remote, packet);
        return;
      }
      packet.topic = topic;
      stripProperties(packet, true);
      this.owner.stats.messagesIn++;
      this.lastTraffic = Date.now();
    } else {
      packet = ackCopy(packet as AckPacket);
    }
    if (!local.send(packet) && !this.remotePaused) this.pauseRemote();
  }

  /** The remote socket is full: stop reading from the local broker, which then queues as for a slow client. */
  private pauseLocal(): void {
    const local = this.local;
    if (local === undefined) return;
    this.localPaused = true;
    local.stream.pause();
    this.remote.stream.once('drain', () => {
      this.localPaused = false;
      local.stream.resume();
    });
  }

  private pauseRemote(): void {
    const local = this.local;
    if (local === undefined) return;
    this.remotePaused = true;
    this.remote.stream.pause();
    local.stream.once('drain', () => {
      this.remotePaused = false;
      this.remote.stream.resume();
    });
  }
}

/** Per-hop properties never cross a bridge; the rest does only towards an MQTT 5 peer. */
function stripProperties(packet: PublishPacket, keep: boolean): void {
  const props = packet.properties;
  if (props === undefined) return;
  if (!keep) {
    delete packet.properties;
    return;
  }
  delete props.subscriptionIdentifiers;
  delete props.topicAlias;
}

/** An acknowledgement relayed to the other side keeps its identifier; a 3.1.1 peer's has no reason code. */
function ackCopy(packet: AckPacket): AckPacket {
  return { type: packet.type, packetId: packet.packetId, reasonCode: packet.reasonCode };
}
