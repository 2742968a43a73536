// Binds one server per address of a listener (TLS and WebSocket listeners share TCP's address rules).

import { isIPv6, type Server } from 'node:net';
import type { Listener } from './listener.js';
import type { ListenerOptions } from './listener-options.js';
import { bindAddresses, type DropHandler, limitConnections, listenOne } from './tcp-listener.js';

/** A bound server plus whatever else has to be shut with it (a WebSocket server, sockets mid-handshake). */
class BoundListener implements Listener {
  constructor(
    private readonly server: Server,
    readonly description: string,
    readonly port: number,
    private readonly extraClose: (() => void) | undefined,
  ) {}

  close(): Promise<void> {
    this.extraClose?.();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * Creates and binds a server for every bind address of `options` (or its Unix socket path). `kind` overrides
 * the "ipv4"/"ipv6" word of the log line, e.g. "websockets" as Mosquitto prints it.
 */
export async function bindServers(
  options: ListenerOptions,
  create: () => { server: Server; close?: () => void },
  kind?: string,
  onDrop?: DropHandler,
): Promise<Listener[]> {
  const opened: Listener[] = [];
  const targets = options.unixSocketPath !== undefined ? [undefined] : bindAddresses(options);
  try {
    for (const host of targets) {
      const { server, close } = create();
      limitConnections(server, options, onDrop);
      const port = await listenOne(server, options.port, host, options.unixSocketPath);
      const family =
        kind ??
        (options.unixSocketPath !== undefined
          ? 'unix'
          : host !== undefined && isIPv6(host)
            ? 'ipv6'
            : 'ipv4');
      const where = options.unixSocketPath !== undefined ? `path ${options.unixSocketPath}` : `port ${port}`;
      opened.push(new BoundListener(server, `${family} listen socket on ${where}`, port, close));
    }
  } catch (err) {
    await Promise.all(opened.map((l) => l.close()));
    throw err;
  }
  return opened;
}
