// A lean MQTT 3.1.1 client for bench/scale.ts: thousands of them in one process, so no library per client,
// just a socket, our decoder and a few counters.

import { Socket } from 'node:net';
import { PacketDecoder } from '../src/protocol/decoder.js';
import { encodePacket } from '../src/protocol/encoder.js';
import type { Packet, QoS } from '../src/protocol/packets.js';

export class ScaleClient {
  private readonly socket = new Socket();
  private readonly decoder = new PacketDecoder();
  private waiters: Array<{ type: number; resolve: (p: Packet) => void }> = [];
  /** PUBLISH packets received so far. */
  publishes = 0;
  /** Called for every PUBLISH (after the count is updated). */
  onPublish: ((topic: string) => void) | undefined;

  private constructor() {
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) =>
      this.decoder.push(chunk, {
        onPacket: (p) => this.packet(p),
        onDecodeError: (e) => this.socket.destroy(e),
      }),
    );
    this.socket.on('error', () => {});
  }

  static async connect(port: number, clientId: string, clean = true): Promise<ScaleClient> {
    const c = new ScaleClient();
    await new Promise<void>((resolve, reject) => {
      c.socket.once('error', reject);
      c.socket.connect(port, '127.0.0.1', () => {
        c.socket.off('error', reject);
        resolve();
      });
    });
    const ack = c.next(2);
    c.send({
      type: 1,
      protocolName: 'MQTT',
      protocolVersion: 4,
      cleanStart: clean,
      keepAlive: 600,
      clientId,
    });
    await ack;
    return c;
  }

  send(p: Packet): void {
    this.socket.write(encodePacket(p, 4));
  }

  /** Subscribes (one SUBSCRIBE with every filter) and waits for the SUBACK. */
  async subscribe(filters: readonly string[], qos: QoS = 0): Promise<void> {
    const ack = this.next(9);
    this.send({
      type: 8,
      packetId: 1,
      subscriptions: filters.map((topicFilter) => ({
        topicFilter,
        qos,
        noLocal: false,
        retainAsPublished: false,
        retainHandling: 0 as const,
      })),
    });
    await ack;
  }

  /** PINGREQ -> PINGRESP round trip, ms. */
  async ping(): Promise<number> {
    const t0 = performance.now();
    const answer = this.next(13);
    this.send({ type: 12 });
    await answer;
    return performance.now() - t0;
  }

  next(type: number): Promise<Packet> {
    return new Promise((resolve) => this.waiters.push({ type, resolve }));
  }

  private packet(p: Packet): void {
    if (p.type === 3) {
      this.publishes++;
      this.onPublish?.(p.topic);
      return;
    }
    const at = this.waiters.findIndex((w) => w.type === p.type);
    if (at >= 0) this.waiters.splice(at, 1)[0]!.resolve(p);
  }

  close(): void {
    this.socket.destroy();
  }
}
