// Why a TLS peer cannot be reached: one handshake, for a start-up error that names the cause. ioredis asks the
// Sentinels on connections whose errors it ignores, so a refused certificate reaches us as "Connection is closed".

import { type ConnectionOptions, connect } from 'node:tls';

/** The handshake's error with `host:port` (e.g. "self-signed certificate in certificate chain"), or undefined. */
export function tlsFailure(
  host: string,
  port: number,
  options: ConnectionOptions,
  timeoutMs = 3000,
): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ ...options, host, port });
    const done = (why: string | undefined): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(why);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (err: Error) => done(err.message));
  });
}
