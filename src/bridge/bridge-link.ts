// The life of one bridge: start type, connection attempts over its addresses, restart_timeout back-off,
// failback to the primary address, lazy start and idle timeout. A BridgeRelay carries each connection.

import type { Logger } from '../broker/logger.js';
import type { ConnackPacket } from '../protocol/packets.js';
import { RestartDelay } from './backoff.js';
import type { BridgeConfig } from './bridge-config.js';
import type { BridgeHost, BridgeState, BridgeStats } from './bridge-host.js';
import { localConnect, localSubscribe, refusalReason } from './bridge-packets.js';
import { BridgeRelay, type RelayOwner } from './bridge-relay.js';
import { duplexPair } from './duplex-pair.js';
import { MqttEndpoint } from './mqtt-endpoint.js';
import { openRemoteSocket, probe } from './remote-socket.js';

/** How often a lazy bridge looks at its queue and its idle time. */
const LAZY_POLL_MS = 1000;

export class BridgeLink implements RelayOwner {
  private relay: BridgeRelay | undefined;
  private addressIndex = 0;
  private tryPrivateNow: boolean;
  private readonly delay: RestartDelay;
  private timer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private failbackTimer: NodeJS.Timeout | undefined;
  /** Bumped by every attempt and stop: a socket that connects for an abandoned attempt is closed. */
  private generation = 0;
  /** The last failure logged at notice: a repeat of it goes to debug, so an outage does not flood the log. */
  private lastFailure = '';
  readonly stats: BridgeStats = {
    state: 'stopped',
    address: '',
    connects: 0,
    messagesOut: 0,
    messagesIn: 0,
    bytesOut: 0,
    bytesIn: 0,
    unmapped: 0,
    queued: 0,
    dropped: 0,
  };

  constructor(
    readonly config: BridgeConfig,
    readonly host: BridgeHost,
  ) {
    this.tryPrivateNow = config.tryPrivate && config.protocolVersion !== 5;
    this.delay = new RestartDelay(config.restartTimeout);
  }

  get name(): string {
    return this.config.name;
  }

  get state(): BridgeState {
    return this.stats.state;
  }

  private get logger(): Logger {
    return this.host.logger;
  }

  /** Starts the bridge as its start_type says; a lazy bridge waits for `threshold` queued messages. */
  start(): void {
    if (this.state !== 'stopped') return;
    this.notifyLocal('0');
    this.primeLocal();
    if (this.config.startType === 'lazy') {
      this.stats.state = 'idle';
      this.pollTimer = setInterval(() => this.poll(), LAZY_POLL_MS);
      this.pollTimer.unref();
    } else {
      this.connect();
    }
  }

  /** Stops the bridge: the remote is told the link is down, both sides get a DISCONNECT. */
  stop(): void {
    this.generation++;
    this.stats.state = 'stopped';
    clearTimeout(this.timer);
    clearInterval(this.pollTimer);
    this.endRelay('bridge stopped');
  }

  /** Drops the link now and connects again at once (runtime control). */
  restart(): void {
    if (this.state === 'stopped') return;
    this.endRelay('bridge restarted');
    this.delay.reset();
    clearTimeout(this.timer);
    this.connect();
  }

  /**
   * Creates the local session and its subscriptions before the first attempt, so that what is published
   * while the remote broker is unreachable queues there (not with local_cleansession true, as in Mosquitto).
   */
  private primeLocal(): void {
    const config = this.config;
    const subscribe = localSubscribe(config, 2);
    if (config.localCleanSession || subscribe === undefined) return;
    const [mine, theirs] = duplexPair();
    const prime = new MqttEndpoint(mine, 5, {
      onPacket: (endpoint, packet) => {
        if (packet.type === 2) endpoint.send(subscribe);
        else if (packet.type === 9) endpoint.close('primed', { type: 14, reasonCode: 0 });
      },
      onClose: () => {},
    });
    this.host.connectLocal(theirs, `bridge ${this.name}`);
    prime.send(localConnect(config));
  }

  private poll(): void {
    const config = this.config;
    if (this.state === 'idle') {
      this.stats.queued = this.host.queuedFor(config.localClientId);
      if (this.stats.queued >= config.threshold) this.connect();
    } else if (
      this.state === 'up' &&
      Date.now() - (this.relay?.lastTraffic ?? 0) >= config.idleTimeout * 1000
    ) {
      this.logger.log(
        'notice',
        `Bridge ${this.name} stopping after ${config.idleTimeout} s idle (lazy start).`,
      );
      this.endRelay('idle timeout');
      this.stats.state = 'idle';
    }
  }

  private connect(): void {
    const generation = ++this.generation;
    const config = this.config;
    const address = config.addresses[this.addressIndex] ?? config.addresses[0]!;
    const where = `${address.host}:${address.port}`;
    this.stats.address = where;
    this.stats.state = 'connecting';
    // Mosquitto's two lines (name resolution, then the socket); repeats of a failing attempt go to debug.
    const level = this.lastFailure === '' ? 'notice' : 'debug';
    this.logger.log(level, `Connecting bridge (step 1) ${this.name} (${where})`);
    this.logger.log(level, `Connecting bridge (step 2) ${this.name} (${where})`);
    openRemoteSocket(config, address).then(
      (socket) => {
        if (generation !== this.generation) socket.destroy();
        else this.relay = new BridgeRelay(this, socket, this.tryPrivateNow);
      },
      (err: Error) => {
        if (generation === this.generation)
          this.failed(`Error creating bridge ${this.name}: ${err.message}.`);
      },
    );
  }

  remoteAccepted(relay: BridgeRelay, connack: ConnackPacket): void {
    if (relay !== this.relay) return;
    this.lastFailure = '';
    this.delay.reset();
    this.logger.log('information', `Bridge ${this.name} connected to ${this.stats.address}.`);
    relay.start(connack);
    this.scheduleFailback();
  }

  remoteRefused(relay: BridgeRelay, connack: ConnackPacket): void {
    if (relay !== this.relay) return;
    if (connack.reasonCode === 1 && this.tryPrivateNow) {
      // A broker that does not know Mosquitto's bridge bit refuses the protocol level: try without it.
      this.tryPrivateNow = false;
      this.logger.log(
        'notice',
        `Bridge ${this.name}: Connection Refused: broker not a bridge, retrying without try_private.`,
      );
      this.endRelay('retry without try_private');
      this.connect();
      return;
    }
    const reason = refusalReason(
      this.config.protocolVersion,
      connack.reasonCode,
      connack.properties?.reasonString,
    );
    this.failed(`Bridge ${this.name}: Connection Refused: ${reason}`);
  }

  ready(relay: BridgeRelay): void {
    if (relay !== this.relay) return;
    this.stats.state = 'up';
    this.stats.connects++;
    this.notifyLocal('1');
  }

  lost(relay: BridgeRelay, why: string): void {
    if (relay !== this.relay) return;
    this.failed(why);
  }

  /** A failed attempt or a lost link: log it once per kind of failure, then wait as restart_timeout says. */
  private failed(why: string): void {
    const again = why === this.lastFailure;
    this.lastFailure = why;
    this.logger.log(again ? 'debug' : 'notice', why);
    this.endRelay(why);
    const count = this.config.addresses.length;
    if (count > 1) this.addressIndex = (this.addressIndex + 1) % count;
    const startType = this.config.startType;
    if (this.state === 'stopped') return;
    if (startType === 'once') {
      this.stats.state = 'stopped';
    } else if (startType === 'lazy') {
      this.stats.state = 'idle';
    } else {
      this.stats.state = 'waiting';
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.connect(), this.delay.next());
      this.timer.unref();
    }
  }

  /** Ends the current connection, if any; the local side hears "0" when the link had been up. */
  private endRelay(why: string): void {
    const relay = this.relay;
    this.relay = undefined;
    clearTimeout(this.failbackTimer);
    if (relay === undefined) return;
    const wasUp = relay.isReady;
    relay.shut(why, true);
    if (wasUp) this.notifyLocal('0');
  }

  /** On a secondary address without round_robin, probe the primary and go back to it once it answers. */
  private scheduleFailback(): void {
    if (this.config.roundRobin || this.addressIndex === 0) return;
    const primary = this.config.addresses[0]!;
    const generation = this.generation;
    this.failbackTimer = setTimeout(async () => {
      const reachable = await probe(primary);
      if (generation !== this.generation || this.relay === undefined) return;
      if (!reachable) {
        this.scheduleFailback();
        return;
      }
      this.logger.log('notice', `Bridge ${this.name}: primary address reachable again, failing back.`);
      this.endRelay('failing back to the primary address');
      this.addressIndex = 0;
      this.connect();
    }, this.failbackProbeMs());
    this.failbackTimer.unref();
  }

  /** While on a secondary address the primary is probed at the restart_timeout's base (or constant) period. */
  private failbackProbeMs(): number {
    const t = this.config.restartTimeout;
    return (t.kind === 'constant' ? t.seconds : t.base) * 1000;
  }

  private notifyLocal(value: '0' | '1'): void {
    if (!this.config.notifications) return;
    this.host.publishLocal(this.config.notificationTopic, Buffer.from(value), 1, true);
  }

  /** Counters, with the bytes of the live connection added. */
  snapshot(): BridgeStats {
    const live = this.relay?.bytes ?? { out: 0, in: 0 };
    return {
      ...this.stats,
      bytesOut: this.stats.bytesOut + live.out,
      bytesIn: this.stats.bytesIn + live.in,
      queued: this.host.queuedFor(this.config.localClientId),
      dropped: this.host.droppedFor(this.config.localClientId),
    };
  }
}
