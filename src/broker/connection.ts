// One network connection of one client: decodes bytes into packets, dispatches them to the packet handlers,
// batches what is written back, and keeps the per-connection MQTT state (keepalive, topic aliases, will).

import { PacketDecoder } from '../protocol/decoder.js';
import { encodePacket } from '../protocol/encoder.js';
import type { MqttProtocolError } from '../protocol/errors.js';
import type { Packet, ProtocolVersion, QoS, Will } from '../protocol/packets.js';
import type { Properties } from '../protocol/properties.js';
import { PublishBatch } from '../protocol/publish-batch.js';
import { CONGESTION_BYTES, drained, type Pressure, release } from './backpressure.js';
import type { BrokerCore } from './broker-core.js';
import { decodeFailed, endForProtocolError, streamFailed } from './connection-errors.js';
import type { DeliveryTarget } from './delivery-target.js';
import { dispatchPacket } from './dispatch.js';
import type { HeldOutput } from './group-commit.js';
import type { ClientInfo } from './hooks.js';
import { isHttpRequest, refuseHttp } from './http-on-mqtt.js';
import { LaterOutput } from './later-output.js';
import type { ListenerContext } from './listener-context.js';
import type { Message } from './message.js';
import { sendPublishSlow, tracePublishOut } from './outgoing-publish.js';
import { JOIN_BYTES, JOIN_MAX, joinChunks } from './output-join.js';
import { traceOutgoing } from './packet-trace.js';
import { holdPending, preConnectPacketLimit, reservePreConnect } from './preconnect-budget.js';
import type { Session } from './session.js';
import {
  attachStream,
  type ByteStream,
  destroyAfterFinish,
  destroyStream,
  type StreamOwner,
} from './stream-listeners.js';
import type { OutgoingTopicAliases } from './topic-alias-out.js';

export type ConnectionState = 'new' | 'authenticating' | 'connected' | 'closed';

export class Connection implements ClientInfo, DeliveryTarget, HeldOutput, StreamOwner {
  readonly decoder: PacketDecoder;
  state: ConnectionState = 'new';
  clientId = '';
  username: string | undefined = undefined;
  protocolVersion: ProtocolVersion = 4;
  keepAlive = 0;
  /** ms after broker.epoch of the last packet and of the accept: ms since 1970 would be a heap number each. */
  private receivedAfter: number;
  private readonly acceptedAfter: number;
  /** Control Packets decoded so far, and since when (ms) an incomplete packet has been held (0 = none). */
  packetsIn = 0;
  partialSince = 0;
  session: Session | null = null;
  /** The Will Message, cleared by a normal DISCONNECT [MQTT-3.1.2-10]. */
  will: Will | undefined = undefined;
  willDelay = 0;
  /** MQTT 5: the client's Receive Maximum (how many QoS>0 sends may be unacknowledged). */
  receiveMaximum = 65535;
  /** MQTT 5: the largest packet the client accepts; 0 = no limit. */
  maximumPacketSize = 0;
  /** MQTT 5: incoming topic aliases, alias -> topic [MQTT-3.3.2-12]. */
  topicAliasesIn: Map<number, string> | undefined = undefined;
  /** MQTT 5: topic aliases Culex assigns to what it sends, when the client allows any (topic-alias-out.ts). */
  topicAliasesOut: OutgoingTopicAliases | undefined = undefined;
  /** Packets received while an asynchronous authentication is running; replayed once it ends. */
  pending: Packet[] | undefined = undefined;
  /** Bytes of the packets in `pending`, and this connection's share of the broker's pre-CONNECT budget. */
  pendingBytes = 0;
  reservedBytes = 0;
  /** Set by a takeover or a timeout: how the disconnection is logged. */
  takenOver = false;
  disconnectLogged = false;
  /** Connected with Mosquitto's bridge bit (protocol level | 0x80, try_private). */
  isBridge = false;
  closeReason: string | undefined = undefined;
  /** Back-pressure (backpressure.ts): the subscriber this publisher waits for (null = none), since when (ms). */
  pausedBy: Connection | null = null;
  /** Not read while a cluster node its messages go to is over its inbox bound (src/cluster/inbox-bound.ts). */
  clusterPaused = false;
  pausedAt = 0;
  /** Packets decoded while paused (the rest of the chunk being read); dispatched when released. */
  held: Packet[] | null = null;
  /** Not paused again before this time (ms) after being held for too long. */
  exemptUntil = 0;
  /** As a subscriber: bytes handed to the stream and deliveries acknowledged, to see that it makes progress. */
  bytesQueued = 0;
  acks = 0;
  /** As a subscriber holding publishers, or found slow; null until then. */
  pressure: Pressure | null = null;
  private corked = false;
  /** This turn's output holds more than QoS 0/1 PUBLISH packets: it waits for the turn's commit (uncork). */
  private needsCommit = false;
  /** Once a batch has been held for a commit: what holds it, and the output of later turns (later-output.ts). */
  private later: LaterOutput | null = null;
  private closing = false;
  /** Small packets written in this turn, not yet handed to the stream (output-join.ts). */
  private small: Buffer[] | null = null;
  private smallBytes = 0;
  /** Packets being joined during a bulk send (beginGather / endGather). */
  private batch: PublishBatch | null = null;
  /** Destroys a closed stream whose peer never finishes the close; cleared once the stream is gone. */
  private linger: NodeJS.Timeout | null = null;

  constructor(
    readonly broker: BrokerCore,
    readonly stream: ByteStream,
    readonly context: ListenerContext,
    readonly remoteAddress: string,
  ) {
    // Until CONNACK the decoder accepts only the pre-CONNECT packet size, and a CONNECT first.
    this.decoder = new PacketDecoder({
      maxPacketSize: preConnectPacketLimit(broker.options),
      maxTopicLevels: broker.options.maxTopicLevels,
      connectFirst: true,
    });
    this.receivedAfter = this.acceptedAfter = broker.now - broker.epoch;
    attachStream(stream, this);
  }

  /** ms since 1970 of the last packet received; the keepalive sweep compares against it. */
  get lastReceived(): number {
    return this.broker.epoch + this.receivedAfter;
  }

  set lastReceived(ms: number) {
    this.receivedAfter = ms - this.broker.epoch;
  }

  get connectedAt(): number {
    return this.broker.epoch + this.acceptedAfter;
  }

  get listenerPort(): number {
    return this.context.port;
  }

  /** Past CONNACK and not closed: messages may be sent (DeliveryTarget). */
  get online(): boolean {
    return this.state === 'connected';
  }

  /** Bytes written and not yet taken by the socket (DeliveryTarget). */
  get backlog(): number {
    return this.stream.writableLength + this.smallBytes + (this.later === null ? 0 : this.later.bytes);
  }

  /** Whether QoS 0 messages should be dropped rather than buffered for this client. */
  get congested(): boolean {
    return this.stream.writableLength + this.smallBytes > CONGESTION_BYTES;
  }

  /** @internal from the shared stream listeners */
  onData(chunk: Buffer): void {
    // Whatever arrives after close is dropped, not buffered, until the socket is gone.
    if (this.state === 'closed') return;
    const seen = this.packetsIn;
    if (seen === 0 && this.state === 'new' && isHttpRequest(this, chunk)) {
      refuseHttp(this);
      return;
    }
    this.decoder.push(chunk, this);
    const now = this.broker.now;
    // [MQTT-3.1.2-24] keepalive counts Control Packets, not bytes: a client trickling a packet is not alive.
    if (this.packetsIn !== seen) this.lastReceived = now;
    if (this.decoder.bufferedBytes === 0) this.partialSince = 0;
    else if (this.partialSince === 0 || this.packetsIn !== seen) this.partialSince = now;
    if (this.state === 'new' || this.state === 'authenticating') reservePreConnect(this);
  }

  /** CONNACK sent: normal packet size limit, and no share of the pre-CONNECT budget any more. */
  markConnected(): void {
    this.state = 'connected';
    this.decoder.maxPacketSize = this.broker.options.maxPacketSize;
    this.pendingBytes = 0;
    this.broker.preConnect.release(this);
  }

  onPacket(packet: Packet): void {
    this.packetsIn++;
    if (this.state === 'closed') return;
    if (this.pending !== undefined) {
      holdPending(this, this.pending, packet);
      return;
    }
    if (this.held !== null) {
      this.held.push(packet);
      return;
    }
    dispatchPacket(this, packet);
  }

  onDecodeError(error: MqttProtocolError): void {
    decodeFailed(this, error);
  }

  /** Ends the connection for a protocol violation (connection-errors.ts). */
  protocolError(reasonCode: number, why: string, disconnect = true): void {
    endForProtocolError(this, reasonCode, why, disconnect);
  }

  /** Writes one packet; writes of one event-loop turn go out together (cork / uncork on the next tick). */
  send(packet: Packet): void {
    if (this.broker.logger.enabled('debug')) traceOutgoing(this, packet);
    this.write(encodePacket(packet, this.protocolVersion));
  }

  write(chunk: Buffer): boolean {
    this.needsCommit = true;
    const batch = this.batch;
    if (batch !== null) {
      if (batch.addRaw(chunk)) return true;
      // Large packets go out as they are, after what the batch holds.
      batch.flush();
    }
    return this.writeOut(chunk);
  }

  /** @internal writes past a bulk send's batch (and from later-output.ts) */
  writeOut(chunk: Buffer): boolean {
    // Output of the same turn joins the held batch (same commit); of a later turn, it waits for its own.
    const later = this.later;
    if (later?.sealed && this.broker.commitTurns !== later.sealedAt) {
      later.add(chunk);
      return true;
    }
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
      process.nextTick(uncork, this);
    }
    this.bytesQueued += chunk.length;
    if (chunk.length <= JOIN_MAX) {
      // Most turns write one packet: a one-element array, not the 17 slots a push onto an empty one reserves
      // (joinSmall drops it once written).
      const small = this.small;
      if (small === null) this.small = [chunk];
      else small.push(chunk);
      this.smallBytes += chunk.length;
      if (this.smallBytes >= JOIN_BYTES) this.joinSmall();
      return true;
    }
    // Order on the wire: what was joined so far goes first.
    this.joinSmall();
    return this.stream.write(chunk);
  }

  /** @internal small packets waiting here go into the stream (or its cork) now; later-output.ts writes behind them */
  joinSmall(): void {
    if (this.smallBytes === 0) return;
    this.stream.write(joinChunks(this.small!, this.smallBytes));
    // The next turn makes its own one-element array: an emptied one kept here is 32 bytes per idle connection.
    this.small = null;
    this.smallBytes = 0;
  }

  /**
   * Bulk sends (the retained messages of a subscription, possibly thousands) join their packets into a few
   * large writes: a stream write per packet costs more than the packet itself. Ends with endGather().
   */
  beginGather(): void {
    this.batch ??= new PublishBatch({ write: (chunk: Buffer) => this.writeOut(chunk) });
  }

  endGather(): void {
    if (this.batch === null) return;
    this.batch.flush();
    this.batch = null;
  }

  /** The batch goes (its commit completed, or it needed none); output held for a later commit comes next. */
  flush(): void {
    this.joinSmall();
    if (this.later?.release()) return;
    // Not corked before the stream runs: an in-memory peer (a bridge) may answer within uncork().
    this.corked = false;
    this.stream.uncork();
  }

  /** @internal whether this turn's output must wait for the commit; reset for the next turn */
  takeNeedsCommit(): boolean {
    const needed = this.needsCommit;
    this.needsCommit = false;
    return needed;
  }

  /** @internal the batch is held for this turn's commit; then (later-output.ts) what comes next waits */
  seal(): void {
    this.later ??= new LaterOutput(this);
    this.later.seal();
  }

  /** The store could not commit what this output acknowledges: drop the connection so that the client retries. */
  abort(): void {
    this.small = null;
    this.later?.clear();
    this.smallBytes = 0;
    this.stream.destroy();
  }

  sendPubrel(packetId: number): void {
    this.send({ type: 6, packetId, reasonCode: 0 });
  }

  /** Sends a PUBLISH for one delivery, applying the listener's mount point and MQTT 5 per-client limits. */
  sendPublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    dup: boolean,
    packetId: number,
    subIds: number[] | undefined,
  ): boolean {
    // Counted where Mosquitto counts it: at the trace line, before the Maximum Packet Size check.
    const stats = this.broker.stats;
    stats.publishSent[qos]++;
    stats.publishSentBytes[qos] += message.payload.length;
    if (this.broker.logger.enabled('debug')) tracePublishOut(this, message, qos, retain, dup, packetId);
    // A QoS 0/1 PUBLISH need not wait for the commit of its delivery: lost in a crash, it is sent again or not
    // at all, and a QoS 1 receiver keeps no state once it acknowledged [MQTT-4.3.2-2] (3.1.1; 5.0 alike). A
    // QoS 2 receiver keeps the packet id until PUBREL [MQTT-4.3.3-2]: a QoS 2 PUBLISH waits, as acks do.
    const needed = this.needsCommit;
    let sent = true;
    if (this.context.mountPoint !== '' || this.protocolVersion === 5) {
      sent = sendPublishSlow(this, message, qos, retain, dup, packetId, subIds);
    } else if (
      qos !== 0 ||
      this.batch === null ||
      !this.batch.addPublish(message.topic, message.payload, retain)
    ) {
      // In a bulk send, small QoS 0 packets are encoded straight into the batch (no frame object per message).
      message.frame.writeTo(this, this.protocolVersion, qos, retain, dup, packetId);
    }
    if (qos !== 2) this.needsCommit = needed;
    return sent;
  }

  /** Closes the connection. `graceful` = the client sent DISCONNECT (no will). */
  close(graceful: boolean, reason?: number, properties?: Properties): void {
    if (this.closing) return;
    this.closing = true;
    release(this);
    this.broker.preConnect.release(this);
    if (reason !== undefined && this.protocolVersion === 5 && this.state === 'connected') {
      const packet: Packet =
        properties === undefined
          ? { type: 14, reasonCode: reason }
          : { type: 14, reasonCode: reason, properties };
      this.send(packet);
    }
    if (this.corked) {
      // What was batched may acknowledge messages: it only leaves once the store has committed them.
      // Output held for a commit still in progress must not go before it either.
      if (this.broker.commitNow() && this.later?.sealed !== true) this.flush();
      else this.stream.destroy();
    }
    const unauthenticated = this.state === 'new' || this.state === 'authenticating';
    this.broker.connectionClosed(this, graceful);
    this.state = 'closed';
    this.stream.end();
    // Before CONNACK there is nothing to wait for once our last bytes are out (a refusal CONNACK at most): stop
    // reading what an unauthenticated peer may still stream at us, as Mosquitto closes its socket at once.
    if (unauthenticated) this.stream.once('finish', destroyAfterFinish);
    // A peer that never reads would keep the socket half-open for ever: give it a moment, then destroy.
    // Cleared when the stream closes: a pending timer would keep the socket and this connection alive for 2 s,
    // long enough for every short-lived client to be promoted to the old generation (RSS after churn).
    if (!this.stream.destroyed) {
      this.linger = setTimeout(destroyStream, 2000, this.stream);
      this.linger.unref();
    }
  }

  /** @internal from the shared stream listeners */
  onStreamError(err: Error): void {
    streamFailed(this, err, this.closing);
  }

  /** @internal from the shared stream listeners */
  onStreamClosed(): void {
    if (this.linger !== null) {
      clearTimeout(this.linger);
      this.linger = null;
    }
    release(this);
    this.broker.preConnect.release(this);
    if (!this.closing) {
      this.closing = true;
      this.broker.connectionClosed(this, false);
      this.state = 'closed';
    }
  }

  /** @internal from the shared stream listeners */
  onDrain(): void {
    if (this.session !== null && this.state === 'connected') this.broker.pump(this.session);
    drained(this);
  }
}

function uncork(connection: Connection): void {
  // With writes pending in the persistence store, the output waits for their commit (group commit).
  if (connection.takeNeedsCommit() && connection.broker.holdOutput(connection)) connection.seal();
  else connection.flush();
}
