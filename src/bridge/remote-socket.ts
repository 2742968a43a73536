// Opens the bridge's socket to the remote broker: plain TCP, TLS with certificates, or TLS-PSK.

import { readdirSync, readFileSync } from 'node:fs';
import { isIP, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import {
  type ConnectionOptions,
  rootCertificates,
  type SecureVersion,
  connect as tlsConnect,
} from 'node:tls';
import type { BridgeAddress, BridgeConfig, BridgeTlsOptions } from './bridge-config.js';

/** A connect that neither succeeds nor fails within this long is abandoned (bound; Mosquitto has the OS's). */
export const CONNECT_TIMEOUT_MS = 10_000;

const MIN_VERSION: Record<string, SecureVersion> = {
  'tlsv1.3': 'TLSv1.3',
  'tlsv1.2': 'TLSv1.2',
  'tlsv1.1': 'TLSv1.1',
};

/** CA certificates of `bridge_capath`: every *.crt / *.pem file (Mosquitto needs `openssl rehash`; Culex reads all). */
function readCaPath(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.crt') || n.endsWith('.pem'))
    .map((n) => readFileSync(join(dir, n), 'utf8'));
}

/** Reads the TLS files; throws with the file name when one is unreadable. */
function tlsConnectionOptions(tls: BridgeTlsOptions, host: string): ConnectionOptions {
  const options: ConnectionOptions = {
    minVersion: MIN_VERSION[tls.version ?? 'tlsv1.2'] ?? 'TLSv1.2',
  };
  if (tls.psk !== undefined && tls.identity !== undefined) {
    const psk = Buffer.from(tls.psk, 'hex');
    const identity = tls.identity;
    // Node offers TLS-PSK only up to TLS 1.2.
    options.maxVersion = 'TLSv1.2';
    options.minVersion = options.minVersion === 'TLSv1.3' ? 'TLSv1.2' : options.minVersion;
    options.ciphers = 'PSK';
    options.pskCallback = () => ({ psk, identity });
    options.checkServerIdentity = () => undefined;
    return options;
  }
  const ca: string[] = [];
  if (tls.cafile !== undefined) ca.push(readFileSync(tls.cafile, 'utf8'));
  if (tls.capath !== undefined) ca.push(...readCaPath(tls.capath));
  if (tls.useOsCerts) ca.push(...rootCertificates);
  options.ca = ca;
  options.rejectUnauthorized = true;
  if (tls.certfile !== undefined) options.cert = readFileSync(tls.certfile);
  if (tls.keyfile !== undefined) options.key = readFileSync(tls.keyfile);
  if (tls.alpn !== undefined) options.ALPNProtocols = [tls.alpn];
  if (isIP(host) === 0) options.servername = host;
  // bridge_insecure: the chain is still verified, only the host name check is skipped.
  if (tls.insecure) options.checkServerIdentity = () => undefined;
  return options;
}

/** Resolves with the connected (and, with TLS, verified) socket. */
export function openRemoteSocket(bridge: BridgeConfig, address: BridgeAddress): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const base = {
      host: address.host,
      port: address.port,
      ...(bridge.bindAddress === undefined ? {} : { localAddress: bridge.bindAddress }),
    };
    let socket: Socket;
    try {
      socket =
        bridge.tls === undefined
          ? tcpConnect(base)
          : tlsConnect({ ...base, ...tlsConnectionOptions(bridge.tls, address.host) });
    } catch (err) {
      reject(err);
      return;
    }
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connection timed out'));
    }, CONNECT_TIMEOUT_MS);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once(bridge.tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.setNoDelay(true);
      if (bridge.tcpKeepalive !== undefined) socket.setKeepAlive(true, bridge.tcpKeepalive.idle * 1000);
      resolve(socket);
    });
  });
}

/** A plain TCP probe of the primary address (failback when round_robin is false). */
export function probe(address: BridgeAddress): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: address.host, port: address.port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(CONNECT_TIMEOUT_MS, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
