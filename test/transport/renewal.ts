// A certificate renewal to test reloads with: the server's certificate and key copied to "live" paths the broker
// is configured with, a renewed pair from the same CA, and the fingerprint a new TLS handshake is served.

import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { issue, makePki, type Pki } from './pki.js';

export interface Renewal {
  readonly pki: Pki;
  /** The files the broker is configured with (copies of the server's pair at first). */
  readonly cert: string;
  readonly key: string;
  /** The renewed pair, to copy over `cert` / `key`. */
  readonly renewedCert: string;
  readonly renewedKey: string;
}

export function makeRenewal(): Renewal {
  const pki = makePki();
  const renewedCert = issue(
    pki.dir,
    'renewed',
    '/CN=localhost',
    'ca',
    '30',
    'subjectAltName=DNS:localhost\n',
  );
  const cert = join(pki.dir, 'live.crt');
  const key = join(pki.dir, 'live.key');
  copyFileSync(pki.serverCert, cert);
  copyFileSync(pki.serverKey, key);
  return { pki, cert, key, renewedCert, renewedKey: join(pki.dir, 'renewed.key') };
}

/** Fingerprint of the certificate the server presents to a new TLS connection. */
export function servedFingerprint(
  port: number,
  ca: Buffer,
  extra: { cert?: Buffer; key?: Buffer } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...extra }, () => {
      const fp = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve(fp);
    });
    socket.once('error', reject);
  });
}

export const fingerprintOf = (file: string): string => new X509Certificate(readFileSync(file)).fingerprint256;
