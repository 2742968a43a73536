// The same-host data path between the workers of one `culex` process tree (`workers N`): QoS 0 copies go from
// worker to worker over a Unix domain socket instead of through Redis (an XADD, the inbox stream and an XREAD
// cost several times a local delivery, and Redis runs on the same cores). Per peer and tick (what one chunk read
// from a publisher makes), frames of records (link-out.ts, message-codec.ts) written with one system call: the
// other worker routes them while this one reads the next chunk. Flushed per event-loop turn instead (a
// setImmediate), a turn carried up to 32 chunks of each publisher (2 MiB): the link backed up, the publishers
// were paused until it drained, and the two workers took turns instead of working at once.
// Only QoS 0 takes it: a QoS 1/2 copy must be in Redis (the receiving worker's inbox stream, which a reaper reads
// if that worker dies) before its publisher's PUBACK / PUBREC, and retained updates are shared state, so both
// keep the Redis path. MQTT orders messages per topic and QoS [MQTT-4.6.0-6] (3.1.1), so two paths keep order.
// Sockets live in Linux's abstract namespace (no file, nothing left behind) under a random name the primary gives
// its workers. Such names are visible to every local user (/proc/net/unix), so each side also proves that it
// knows a second random value, the token (only in the workers' environment), before anything is sent or accepted.
// Elsewhere (no abstract namespace) the workers keep the Redis path.

import { timingSafeEqual } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { Connection } from '../broker/connection.js';
import type { SourceHold } from '../broker/delivery-target.js';
import type { Logger } from '../broker/logger.js';
import type { Message } from '../broker/message.js';
import { FRAME_HEADER, LinkOut, RECORDS } from './link-out.js';
import { InboundHold, OutboundHold } from './link-pressure.js';
import type { GroupRef } from './message-codec.js';
import { reconnectDelay } from './redis-connect.js';

/** What a worker knows of its process tree (src/cli/workers.ts fills it in). */
export interface WorkerLinkOptions {
  /** Names this process tree's sockets (random; not secret). */
  name: string;
  /** Shared by the primary and its workers only: authenticates both ends. */
  token: string;
  /** This worker's number, 1..N. */
  self: number;
  /** Node id of worker k at index k - 1. */
  nodes: readonly string[];
}

/** Unsent bytes a link to a peer may hold; beyond, QoS 0 copies for that peer are dropped and counted. */
export const LINK_MAX_BYTES = 16 * 1024 * 1024;
/** Unsent bytes above which the publishers feeding a link are paused until it drains. */
export const LINK_SOFT_BYTES = 1024 * 1024;
/** The largest frame accepted from a peer (a turn's records for one node). */
const MAX_FRAME = 256 * 1024 * 1024;

const HELLO = 1;
const HEADER = FRAME_HEADER;

/** True where sockets can live in the abstract namespace. */
export function workerLinksSupported(): boolean {
  return process.platform === 'linux';
}

function socketName(name: string, worker: number): string {
  return `\0culex-workers-${name}-${worker}`;
}

/** `text` is `<token>\n<node id>` with this tree's token (compared in constant time); the node id, or undefined. */
function provenNode(text: string, token: string): string | undefined {
  const nl = text.indexOf('\n');
  if (nl < 0) return undefined;
  const given = Buffer.from(text.slice(0, nl));
  const known = Buffer.from(token);
  if (given.length !== known.length) return undefined;
  return timingSafeEqual(given, known) ? text.slice(nl + 1) : undefined;
}

function frame(type: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(HEADER + body.length);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  body.copy(head, HEADER);
  return head;
}

/** Splits a byte stream into frames; `onFrame` returns false to stop (the socket is being closed). */
class FrameReader {
  /** Bytes of an incomplete frame, kept as they came: joined once, when the frame is whole. */
  private parts: Buffer[] = [];
  private held = 0;
  /** Size of the incomplete frame (header included), 0 while its header is not complete. */
  private want = 0;

  constructor(private readonly onFrame: (type: number, body: Buffer) => boolean) {}

  push(chunk: Buffer): boolean {
    let buf = chunk;
    if (this.held > 0) {
      this.parts.push(chunk);
      this.held += chunk.length;
      if (this.want === 0 && this.held >= 4) this.want = 4 + Buffer.concat(this.parts, 4).readUInt32BE(0);
      if (this.want === 0 || this.held < this.want) return this.want <= 4 + MAX_FRAME;
      buf = Buffer.concat(this.parts, this.held);
      this.parts = [];
      this.held = 0;
      this.want = 0;
    }
    let off = 0;
    while (buf.length - off >= HEADER) {
      const size = buf.readUInt32BE(off);
      if (size < 1 || size > MAX_FRAME) return false;
      if (buf.length - off < 4 + size) {
        this.want = 4 + size;
        break;
      }
      const type = buf[off + 4]!;
      const body = buf.subarray(off + HEADER, off + 4 + size);
      off += 4 + size;
      if (!this.onFrame(type, body)) return false;
    }
    if (off < buf.length) {
      this.parts.push(buf.subarray(off));
      this.held = buf.length - off;
      if (this.held < 4) this.want = 0;
    }
    return true;
  }
}

interface Peer {
  readonly number: number;
  readonly nodeId: string;
  socket: Socket | undefined;
  /** Both ends proved the token: copies may be sent. */
  ready: boolean;
  attempt: number;
  timer: NodeJS.Timeout | undefined;
  /** This tick's copies for it. */
  readonly out: LinkOut;
}

export interface WorkerLinkCounters {
  /** QoS 0 copies sent to other workers directly. */
  sent: number;
  /** QoS 0 copies dropped: the link to their worker held LINK_MAX_BYTES unsent. */
  dropped: number;
}

export class WorkerLinks {
  readonly counters: WorkerLinkCounters = { sent: 0, dropped: 0 };
  /** Gets every records frame a peer sent (the forwarder routes them as it does its inbox entries). */
  onRecords: (body: Buffer, source: SourceHold) => void = () => {};
  /** True while some link holds more than LINK_SOFT_BYTES unsent: its publishers are being paused. */
  pressured = false;
  private readonly publishers = new OutboundHold();
  private readonly peers = new Map<string, Peer>();
  /** Peers with copies this tick. */
  private readonly dirty: Peer[] = [];
  private readonly inbound = new Set<Socket>();
  private scheduled = false;
  private stopped = false;
  private readonly hello: Buffer;

  private constructor(
    private readonly options: WorkerLinkOptions,
    private readonly server: Server,
    private readonly logger: Logger,
  ) {
    const self = options.nodes[options.self - 1] ?? '';
    this.hello = frame(HELLO, Buffer.from(`${options.token}\n${self}`));
    for (let k = 1; k <= options.nodes.length; k++) {
      if (k === options.self) continue;
      const nodeId = options.nodes[k - 1]!;
      this.peers.set(nodeId, {
        number: k,
        nodeId,
        socket: undefined,
        ready: false,
        attempt: 0,
        timer: undefined,
        out: new LinkOut(),
      });
    }
  }

  /** Listens for the other workers and connects to each (they may start later: retried with backoff). */
  static async start(options: WorkerLinkOptions, logger: Logger): Promise<WorkerLinks> {
    const server = createServer();
    const links = new WorkerLinks(options, server, logger);
    server.on('connection', (socket) => links.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketName(options.name, options.self), () => {
        server.off('error', reject);
        resolve();
      });
    });
    for (const peer of links.peers.values()) links.connect(peer);
    return links;
  }

  /** Whether copies for `nodeId` go straight to it (a worker of this tree with its link up). */
  ready(nodeId: string): boolean {
    return this.peers.get(nodeId)?.ready === true;
  }

  /** A message of `publisher` went to `nodeId` while links are backed up: it waits if that one is. */
  hold(nodeId: string, publisher: Connection): void {
    const s = this.peers.get(nodeId)?.socket;
    if (s !== undefined && s.writableLength > LINK_SOFT_BYTES) this.publishers.hold(publisher);
  }

  private drained(): void {
    for (const peer of this.peers.values()) {
      const s = peer.socket;
      if (s !== undefined && s.writableLength > LINK_SOFT_BYTES / 2) return;
    }
    this.pressured = false;
    this.publishers.release(Date.now());
  }

  /**
   * A QoS 0 copy of `message` for worker `nodeId` (ready), to its subscriptions (`regular`) and/or to a member of
   * `group` there; false when it joined the previous copy of the same message (no new record). Sent this tick.
   */
  add(nodeId: string, message: Message, regular: boolean, group: GroupRef | undefined): boolean {
    const peer = this.peers.get(nodeId);
    if (peer === undefined) return false;
    const out = peer.out;
    if (out.count === 0) this.dirty.push(peer);
    if (!this.scheduled) {
      this.scheduled = true;
      // Per tick, as a connection's output (connection.ts): one chunk read from a publisher, one frame or two.
      process.nextTick(flushLinks, this);
    }
    return out.add(message, regular, group);
  }

  /** Writes this tick's records, in frames of about a socket read (the other worker routes one at a time). */
  flush(): void {
    this.scheduled = false;
    const dirty = this.dirty;
    for (let i = 0; i < dirty.length; i++) this.send(dirty[i]!);
    dirty.length = 0;
  }

  private send(peer: Peer): void {
    const out = peer.out;
    const frames = out.close();
    const socket = peer.socket;
    if (!peer.ready || socket === undefined || socket.writableLength > LINK_MAX_BYTES) {
      // Best effort, as QoS 0 is: the worker went away (or is this far behind) since the copies were made.
      if (this.counters.dropped === 0)
        this.logger.log(
          'warning',
          `Warning: Cluster: the direct link to node ${peer.nodeId} is down or backed up: QoS 0 messages are being dropped.`,
        );
      this.counters.dropped += out.count;
      out.clear();
      return;
    }
    this.counters.sent += out.count;
    if (frames.length === 1) socket.write(frames[0]!);
    else {
      socket.cork();
      for (let i = 0; i < frames.length; i++) socket.write(frames[i]!);
      socket.uncork();
    }
    out.clear();
    if (socket.writableLength > LINK_SOFT_BYTES) this.pressured = true;
  }

  private connect(peer: Peer): void {
    peer.timer = undefined;
    if (this.stopped) return;
    const socket = createConnection(socketName(this.options.name, peer.number));
    peer.socket = socket;
    const reader = new FrameReader((type, body) => {
      // The peer proves the token in its reply; nothing else is expected on this direction.
      if (type !== HELLO || provenNode(body.toString(), this.options.token) !== peer.nodeId) return false;
      peer.ready = true;
      peer.attempt = 0;
      this.logger.log('debug', `Cluster: direct link to worker ${peer.number} (${peer.nodeId}) up.`);
      return true;
    });
    socket.on('connect', () => socket.write(this.hello));
    socket.on('data', (chunk: Buffer) => {
      if (!reader.push(chunk)) socket.destroy();
    });
    socket.on('drain', () => this.drained());
    socket.on('error', () => {});
    socket.on('close', () => {
      if (peer.socket === socket) {
        peer.socket = undefined;
        if (peer.ready) this.logger.log('debug', `Cluster: direct link to worker ${peer.number} lost.`);
        peer.ready = false;
        this.drained();
      }
      if (this.stopped) return;
      // The worker is (re)starting: its copies go through Redis meanwhile.
      peer.timer = setTimeout(() => this.connect(peer), reconnectDelay(peer.attempt++));
      peer.timer.unref();
    });
  }

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.inbound.add(socket);
    let known = false;
    const hold = new InboundHold(
      () => socket.pause(),
      () => socket.resume(),
    );
    const reader = new FrameReader((type, body) => {
      if (!known) {
        const node = type === HELLO ? provenNode(body.toString(), this.options.token) : undefined;
        if (node === undefined || !this.peers.has(node)) return false;
        known = true;
        socket.write(this.hello);
        return true;
      }
      if (type === RECORDS) this.onRecords(body, hold);
      return true;
    });
    socket.on('data', (chunk: Buffer) => {
      if (!reader.push(chunk)) socket.destroy();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.inbound.delete(socket);
      hold.release();
    });
  }

  /** Sends what this turn holds, then closes every link. */
  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.flush();
    this.stopped = true;
    for (const peer of this.peers.values()) {
      if (peer.timer !== undefined) clearTimeout(peer.timer);
      peer.ready = false;
      peer.socket?.end();
    }
    for (const s of this.inbound) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function flushLinks(links: WorkerLinks): void {
  links.flush();
}
