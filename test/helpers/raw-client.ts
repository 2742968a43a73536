// A raw-socket MQTT client for tests: sends exact bytes (or packets encoded by our codec) and reads back whole
// packets, both as the raw bytes the broker wrote and decoded by our codec.

import { Socket } from 'node:net';
import { PacketDecoder } from '../../src/protocol/decoder.js';
import { encodePacket } from '../../src/protocol/encoder.js';
import type { MqttProtocolError } from '../../src/protocol/errors.js';
import type {
  ConnackPacket,
  ConnectPacket,
  Packet,
  ProtocolVersion,
  QoS,
  Will,
} from '../../src/protocol/packets.js';
import type { Properties } from '../../src/protocol/properties.js';

export interface ConnectOptions {
  clientId?: string;
  clean?: boolean;
  keepAlive?: number;
  version?: ProtocolVersion;
  username?: string;
  password?: string | Buffer;
  will?: {
    topic: string;
    payload?: string | Buffer;
    qos?: QoS;
    retain?: boolean;
    properties?: Properties | undefined;
  };
  /** MQTT 5 CONNECT properties. */
  properties?: Properties | undefined;
}

/** A CONNECT packet with test-friendly defaults (MQTT 3.1.1, clean session, keepalive 60). */
export function connectPacket(o: ConnectOptions = {}): ConnectPacket {
  const version = o.version ?? 4;
  const p: ConnectPacket = {
    type: 1,
    protocolName: version === 3 ? 'MQIsdp' : 'MQTT',
    protocolVersion: version,
    cleanStart: o.clean ?? true,
    keepAlive: o.keepAlive ?? 60,
    clientId: o.clientId ?? '',
  };
  if (o.properties !== undefined) p.properties = o.properties;
  if (o.username !== undefined) p.username = o.username;
  if (o.password !== undefined) p.password = Buffer.from(o.password);
  if (o.will !== undefined) {
    const will: Will = {
      topic: o.will.topic,
      payload: Buffer.from(o.will.payload ?? ''),
      qos: o.will.qos ?? 0,
      retain: o.will.retain ?? false,
    };
    if (o.will.properties !== undefined) will.properties = o.will.properties;
    p.will = will;
  }
  return p;
}

const CLOSED = Symbol('closed');

export class RawClient {
  readonly socket: Socket;
  /** Protocol level used to encode sent packets and decode received ones. */
  version: ProtocolVersion = 4;
  /** Every byte received, in order (for differential comparisons). */
  readonly received: Buffer[] = [];
  private readonly frames: Buffer[] = [];
  private pendingBytes: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        this.wake();
        resolve();
      }),
    );
  }

  static open(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      socket.setNoDelay(true);
      socket.once('error', reject);
      socket.connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Opens a socket, sends CONNECT and waits for the CONNACK. */
  static async connect(
    port: number,
    o: ConnectOptions = {},
  ): Promise<{ client: RawClient; connack: ConnackPacket }> {
    const client = await RawClient.open(port);
    const connack = await client.handshake(o);
    return { client, connack };
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  async handshake(o: ConnectOptions = {}): Promise<ConnackPacket> {
    this.version = o.version ?? 4;
    this.send(connectPacket(o));
    const p = await this.next();
    if (p.type !== 2) throw new Error(`expected CONNACK, got packet type ${p.type}`);
    return p;
  }

  /** Sends a packet (encoded at this client's protocol level) or exact bytes. */
  send(what: Packet | Buffer | readonly number[]): void {
    let bytes: Buffer;
    if (Buffer.isBuffer(what)) bytes = what;
    else if (Array.isArray(what)) bytes = Buffer.from(what as number[]);
    else bytes = encodePacket(what as Packet, this.version);
    this.socket.write(bytes);
  }

  /** The raw bytes of the next whole packet, or null if the connection closed first. */
  async nextRaw(timeoutMs = 2000): Promise<Buffer | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const frame = this.frames.shift();
      if (frame !== undefined) return frame;
      if (this.closedFlag) return null;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no packet within ${timeoutMs} ms`);
      const r = await this.wait(left);
      if (r === CLOSED && this.frames.length === 0) return null;
    }
  }

  /** The next packet decoded by our codec; throws if the connection closes or nothing comes in time. */
  async next(timeoutMs = 2000): Promise<Packet> {
    const raw = await this.nextRaw(timeoutMs);
    if (raw === null) throw new Error('connection closed while waiting for a packet');
    return decodeFrame(raw, this.version);
  }

  /** Next packet of the given type, skipping (and returning) others seen in between. */
  async nextOfType<T extends Packet['type']>(
    type: T,
    timeoutMs = 2000,
  ): Promise<Extract<Packet, { type: T }>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const p = await this.next(Math.max(1, end - Date.now()));
      if (p.type === type) return p as Extract<Packet, { type: T }>;
    }
  }

  /**
   * All packets that arrive within `ms`. With `atLeast`, a loaded machine gets more time: collection goes on (up
   * to 5 s) until that many packets came, plus a short grace period to catch any unexpected extra.
   */
  async collect(ms: number, atLeast = 0): Promise<Packet[]> {
    const start = Date.now();
    let end = start + ms;
    const out: Packet[] = [];
    for (;;) {
      let left = end - Date.now();
      if (left <= 0 && out.length < atLeast && Date.now() - start < 5000) {
        end = Math.min(start + 5000, Date.now() + 100);
        left = end - Date.now();
      }
      if (left <= 0) break;
      try {
        const raw = await this.nextRaw(left);
        if (raw === null) break;
        out.push(decodeFrame(raw, this.version));
        // Once the expected count arrives late, wait only a short grace period for extras.
        if (out.length === atLeast && Date.now() >= start + ms) end = Date.now() + 50;
      } catch {
        break;
      }
    }
    return out;
  }

  /** Resolves true if the broker closes the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = 2000): Promise<boolean> {
    if (this.closedFlag) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const r = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return r;
  }

  /** Sends DISCONNECT and ends the socket. */
  disconnect(): void {
    if (this.closedFlag) return;
    this.send({ type: 14, reasonCode: 0 });
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.received.push(chunk);
    this.pendingBytes = this.pendingBytes.length === 0 ? chunk : Buffer.concat([this.pendingBytes, chunk]);
    for (;;) {
      const size = frameSize(this.pendingBytes);
      if (size === 0 || size > this.pendingBytes.length) break;
      this.frames.push(this.pendingBytes.subarray(0, size));
      this.pendingBytes = this.pendingBytes.subarray(size);
    }
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  private wait(ms: number): Promise<unknown> {
    if (this.closedFlag) return Promise.resolve(CLOSED);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve(undefined);
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        resolve(this.closedFlag ? CLOSED : undefined);
      };
    });
  }
}

/** Length of the first whole packet in `buf` (header included), or 0 while the header is incomplete. */
export function frameSize(buf: Buffer): number {
  let value = 0;
  let mult = 1;
  for (let i = 1; i <= 4; i++) {
    if (i >= buf.length) return 0;
    const b = buf[i]!;
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return 1 + i + value;
    mult *= 128;
  }
  throw new Error('malformed remaining length from broker');
}

/** Decodes one whole packet with our codec. */
export function decodeFrame(raw: Buffer, version: ProtocolVersion): Packet {
  const decoder = new PacketDecoder();
  decoder.protocolVersion = version;
  let packet: Packet | undefined;
  let error: MqttProtocolError | undefined;
  decoder.push(raw, {
    onPacket: (p) => {
      packet = p;
    },
    onDecodeError: (e) => {
      error = e;
    },
  });
  if (error !== undefined) throw error;
  if (packet === undefined) throw new Error(`could not decode ${raw.toString('hex')}`);
  return packet;
}

/** Shorthand for a PUBLISH packet. */
export function publishPacket(
  topic: string,
  payload: string | Buffer,
  qos: QoS = 0,
  packetId = 0,
  flags: { retain?: boolean; dup?: boolean } = {},
): Packet {
  return {
    type: 3,
    topic,
    payload: Buffer.from(payload),
    qos,
    retain: flags.retain ?? false,
    dup: flags.dup ?? false,
    packetId: qos === 0 ? 0 : packetId,
  };
}

/** Shorthand for a SUBSCRIBE packet at QoS per filter. */
export function subscribePacket(packetId: number, subs: ReadonlyArray<readonly [string, QoS]>): Packet {
  return {
    type: 8,
    packetId,
    subscriptions: subs.map(([topicFilter, qos]) => ({
      topicFilter,
      qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0 as const,
    })),
  };
}

/** Subscribes and waits for the SUBACK; returns its return codes. */
export async function subscribe(
  client: RawClient,
  packetId: number,
  subs: ReadonlyArray<readonly [string, QoS]>,
): Promise<number[]> {
  client.send(subscribePacket(packetId, subs));
  const ack = await client.nextOfType(9);
  if (ack.packetId !== packetId) throw new Error(`SUBACK for ${ack.packetId}, expected ${packetId}`);
  return ack.reasonCodes;
}
