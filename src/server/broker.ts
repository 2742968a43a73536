// The public, embeddable broker: the transport-agnostic core plus the listeners that feed it.

import { BrokerCore, type BrokerCoreInit } from '../broker/broker-core.js';
import type { BrokerHooks } from '../broker/hooks.js';
import type { ListenerContext } from '../broker/listener-context.js';
import type { Listener } from '../transport/listener.js';
import type { ListenerOptions } from '../transport/listener-options.js';
import { openTcpListener } from '../transport/tcp-listener.js';

/** A listener as the library API takes it: only the port is required. */
export type ListenerSpec = Partial<ListenerOptions> & { port: number };

export interface BrokerInit extends BrokerCoreInit {
  /** Hooks per listener (per_listener_settings), keyed by the listener's index in `listen()`. */
  listenerHooks?: ReadonlyMap<number, BrokerHooks>;
}

export function completeListener(spec: ListenerSpec): ListenerOptions {
  return {
    protocol: 'mqtt',
    maxConnections: -1,
    // Culex batches its writes per event-loop turn itself, so Nagle only adds latency (see docs/compatibility.md).
    setTcpNodelay: true,
    useUsernameAsClientId: false,
    ...spec,
  };
}

export class Broker extends BrokerCore {
  private readonly open: Listener[] = [];
  private readonly listenerHooks: ReadonlyMap<number, BrokerHooks>;

  constructor(init: BrokerInit = {}) {
    super(init);
    this.listenerHooks = init.listenerHooks ?? new Map();
  }

  /** Listeners opened so far (with the ports really bound). */
  get listening(): readonly Listener[] {
    return this.open;
  }

  /** Opens listeners; by default one on localhost:1883 as Mosquitto 2.0 does with no configuration. */
  async listen(specs: readonly ListenerSpec[] = [{ port: 1883, host: '127.0.0.1' }]): Promise<Listener[]> {
    const opened: Listener[] = [];
    for (let i = 0; i < specs.length; i++) {
      const options = completeListener(specs[i]!);
      const context = this.contextFor(options, this.listenerHooks.get(i) ?? this.hooks);
      const handler = (stream: import('node:stream').Duplex, remote: string): void => {
        this.handleConnection(stream, context, remote);
      };
      try {
        const listeners = await openTcpListener(options, handler);
        for (const l of listeners) this.logger.log('notice', `Opening ${l.description}.`);
        opened.push(...listeners);
      } catch (err) {
        await Promise.all(opened.map((l) => l.close()));
        throw err;
      }
    }
    this.open.push(...opened);
    return opened;
  }

  contextFor(options: ListenerOptions, hooks: BrokerHooks): ListenerContext {
    return {
      port: options.port,
      mountPoint: options.mountPoint ?? '',
      security: options.security ?? this.options,
      hooks,
      maxQos: options.maxQos ?? this.options.maxQos,
      maxTopicAlias: options.maxTopicAlias ?? this.options.maxTopicAlias,
      useUsernameAsClientId: options.useUsernameAsClientId,
    };
  }

  /** Stops accepting, disconnects every client, and resolves when the listeners are closed. */
  async stop(): Promise<void> {
    const listeners = this.open.splice(0);
    const closing = Promise.all(listeners.map((l) => l.close()));
    this.close();
    await closing;
  }
}
