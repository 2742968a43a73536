// A scripted raw-packet conversation with a broker, recorded as a transcript of the exact bytes received, so the
// same script can be run against Culex and Mosquitto and the transcripts compared.

import { encodePacket } from '../../src/protocol/encoder.js';
import type { Packet, ProtocolVersion } from '../../src/protocol/packets.js';
import { type ConnectOptions, connectPacket, RawClient } from './raw-client.js';

/** Records what one broker sends back during a scripted conversation. */
export class Conversation {
  readonly transcript: string[] = [];
  private readonly clients = new Map<string, RawClient>();
  /** Protocol level each client connected with: packets given as objects are encoded at that level. */
  private readonly versions = new Map<string, ProtocolVersion>();
  constructor(readonly port: number) {}

  async open(name: string): Promise<void> {
    this.clients.set(name, await RawClient.open(this.port));
  }

  send(name: string, what: Packet | readonly number[]): void {
    const bytes = Array.isArray(what)
      ? Buffer.from(what as number[])
      : encodePacket(what as Packet, this.versions.get(name) ?? 4);
    this.client(name).send(bytes);
  }

  sendBytes(name: string, bytes: Buffer): void {
    this.client(name).send(bytes);
  }

  /** Opens a client and connects it (3.1.1 unless told), recording the CONNACK. */
  async connect(name: string, o: ConnectOptions): Promise<void> {
    await this.open(name);
    this.versions.set(name, o.version ?? 4);
    this.send(name, [...encodePacket(connectPacket(o), o.version ?? 4)]);
    await this.read(name, 1);
  }

  /** Reads up to `n` packets (stopping early if the connection closes or nothing comes within the timeout). */
  read(name: string, n: number, timeoutMs = 1500): Promise<void> {
    return this.readAs(name, n, timeoutMs, fullHex);
  }

  /** Like read, but records only each packet's first bytes and length (for big payloads). */
  readSummary(name: string, n: number, timeoutMs = 1500): Promise<void> {
    return this.readAs(name, n, timeoutMs, summaryHex);
  }

  private async readAs(
    name: string,
    n: number,
    timeoutMs: number,
    describe: (raw: Buffer) => string,
  ): Promise<void> {
    const c = this.client(name);
    for (let i = 0; i < n; i++) {
      let raw: Buffer | null;
      try {
        raw = await c.nextRaw(timeoutMs);
      } catch {
        this.transcript.push(`${name}: (nothing)`);
        return;
      }
      if (raw === null) {
        this.transcript.push(`${name}: closed`);
        return;
      }
      this.transcript.push(`${name} <- ${describe(raw)}`);
    }
  }

  /** Records everything that arrives within `ms`, or that nothing did. */
  async quiet(name: string, ms = 300): Promise<void> {
    const c = this.client(name);
    const end = Date.now() + ms;
    for (;;) {
      const left = end - Date.now();
      if (left <= 0) return;
      let raw: Buffer | null;
      try {
        raw = await c.nextRaw(left);
      } catch {
        return;
      }
      if (raw === null) return;
      this.transcript.push(`${name} <- ${raw.toString('hex')} (unexpected)`);
    }
  }

  async closed(name: string, ms = 1500): Promise<void> {
    const c = this.client(name);
    this.transcript.push(`${name}: ${(await c.waitClosed(ms)) ? 'closed' : 'still open'}`);
  }

  end(): void {
    for (const c of this.clients.values()) c.destroy();
  }

  private client(name: string): RawClient {
    const c = this.clients.get(name);
    if (c === undefined) throw new Error(`no client ${name}`);
    return c;
  }
}

export type Script = (c: Conversation) => Promise<void>;

/** Runs a script against the broker on `port` and returns its transcript. */
export async function transcript(port: number, script: Script): Promise<string[]> {
  const c = new Conversation(port);
  try {
    await script(c);
  } finally {
    c.end();
  }
  return c.transcript;
}

function fullHex(raw: Buffer): string {
  return raw.toString('hex');
}

function summaryHex(raw: Buffer): string {
  return `${raw.subarray(0, 12).toString('hex')}… (${raw.length} bytes)`;
}
