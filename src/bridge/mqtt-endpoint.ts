// The client end of one MQTT connection, spoken with Culex's own codec: used for both sides of a bridge
// (the remote broker over TCP/TLS, the local broker over an in-memory pair).

import type { Duplex } from 'node:stream';
import { PacketDecoder } from '../protocol/decoder.js';
import { encodePacket } from '../protocol/encoder.js';
import type { MqttProtocolError } from '../protocol/errors.js';
import type { Packet, ProtocolVersion, PublishPacket } from '../protocol/packets.js';

export interface EndpointSink {
  onPacket(endpoint: MqttEndpoint, packet: Packet): void;
  /** Called once, when the stream ended, failed or was closed by us. */
  onClose(endpoint: MqttEndpoint, why: string): void;
}

export class MqttEndpoint {
  private readonly decoder: PacketDecoder;
  private closed = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  lastSent = Date.now();
  lastReceived = Date.now();
  bytesOut = 0;
  bytesIn = 0;
  /** Topic aliases set up by the peer (MQTT 5), when we announced a Topic Alias Maximum. */
  private aliases: Map<number, string> | undefined;
  private maxAlias = 0;

  constructor(
    readonly stream: Duplex,
    readonly version: ProtocolVersion,
    private readonly sink: EndpointSink,
    maxPacketSize = 0,
  ) {
    this.decoder = new PacketDecoder({ maxPacketSize });
    this.decoder.protocolVersion = version;
    stream.on('data', (chunk: Buffer) => {
      this.lastReceived = Date.now();
      this.bytesIn += chunk.length;
      this.decoder.push(chunk, this);
    });
    stream.on('error', (err: Error) => this.finish(err.message));
    stream.on('close', () => this.finish('connection closed'));
    stream.on('end', () => this.finish('connection closed by the peer'));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Encodes and writes; false when the stream asks us to wait for 'drain'. */
  send(packet: Packet): boolean {
    if (this.closed) return false;
    const bytes = encodePacket(packet, this.version);
    this.lastSent = Date.now();
    this.bytesOut += bytes.length;
    return this.stream.write(bytes);
  }

  /** Accepts topic aliases 1..max from the peer (the Topic Alias Maximum we announced in CONNECT). */
  acceptAliases(max: number): void {
    this.aliases = new Map();
    this.maxAlias = max;
  }

  /** Sends PINGREQ after `seconds` without sending; no answer within another `seconds` closes the link. */
  keepalive(seconds: number): void {
    if (seconds <= 0) return;
    const ms = seconds * 1000;
    this.pingTimer = setInterval(() => this.checkAlive(ms), Math.max(250, ms / 4));
    this.pingTimer.unref();
  }

  private checkAlive(ms: number): void {
    const now = Date.now();
    if (this.awaitingPong && now - this.lastReceived >= ms) {
      this.close('keepalive timeout');
      return;
    }
    if (now - this.lastSent >= ms) {
      this.awaitingPong = true;
      this.send({ type: 12 });
    }
  }

  onPacket(packet: Packet): void {
    this.awaitingPong = false;
    if (packet.type === 13) return;
    if (packet.type === 3 && this.aliases !== undefined) {
      if (!this.resolveAlias(packet)) return;
    }
    this.sink.onPacket(this, packet);
  }

  private resolveAlias(packet: PublishPacket): boolean {
    const alias = packet.properties?.topicAlias;
    if (alias === undefined) return true;
    const aliases = this.aliases!;
    // [MQTT-3.3.2-10] 5.0 an alias above what we announced is a protocol error: the map stays bounded.
    if (alias === 0 || alias > this.maxAlias) {
      this.close('topic alias out of range');
      return false;
    }
    if (packet.topic === '') {
      const topic = aliases.get(alias);
      if (topic === undefined) {
        this.close('unknown topic alias');
        return false;
      }
      packet.topic = topic;
    } else {
      aliases.set(alias, packet.topic);
    }
    return true;
  }

  onDecodeError(error: MqttProtocolError): void {
    this.close(`protocol error: ${error.message}`);
  }

  /** Closes the stream (DISCONNECT first when `disconnect` is given and the link is up). */
  close(why: string, disconnect?: Packet): void {
    if (this.closed) return;
    if (disconnect !== undefined) {
      this.send(disconnect);
      this.stream.end();
      // A peer that never closes its side must not keep the stream alive.
      setTimeout(() => this.stream.destroy(), 1000).unref();
    } else {
      this.stream.destroy();
    }
    this.finish(why);
  }

  private finish(why: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.sink.onClose(this, why);
  }
}
