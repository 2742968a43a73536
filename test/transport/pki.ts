// Test PKI made with the `openssl` command at test time: a CA, a server certificate for localhost, client
// certificates (valid, expired, from a foreign CA) and a PSK file, all in a fresh temporary directory.

import { spawnSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/processes.js';

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  /** Issued by the right CA but already expired. */
  readonly expiredCert: string;
  readonly expiredKey: string;
  /** A client certificate from a CA the broker does not trust. */
  readonly foreignCert: string;
  readonly foreignKey: string;
  readonly foreignCaCert: string;
  /** Subject of the client certificate as `openssl x509 -subject -nameopt RFC2253` prints it. */
  readonly clientSubjectRfc2253: string;
}

export function openssl(dir: string, args: string[]): string {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed:\n${r.stderr}`);
  return r.stdout;
}

function newKey(dir: string, name: string): string {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
  chmodSync(join(dir, `${name}.key`), 0o644);
  return join(dir, `${name}.key`);
}

export function selfSignedCa(dir: string, name: string, cn: string): string {
  newKey(dir, name);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '30',
    '-subj',
    `/CN=${cn}`,
  ]);
  return join(dir, `${name}.crt`);
}

export function issue(
  dir: string,
  name: string,
  subject: string,
  ca: string,
  days: string,
  ext?: string,
): string {
  newKey(dir, name);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', subject, '-utf8']);
  const args = [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
  ];
  args.push('-days', days, '-out', `${name}.crt`);
  if (ext !== undefined) {
    writeFileSync(join(dir, `${name}.ext`), ext);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(dir, args);
  return join(dir, `${name}.crt`);
}

/** The part of a PKI every TLS test needs: a CA, a server certificate for localhost, a client's, a foreign CA. */
export type BasePki = Pick<
  Pki,
  'dir' | 'caCert' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey' | 'foreignCaCert'
>;

export function makeBasePki(clientSubject: string, dirPrefix = 'culex-pki-'): BasePki {
  const dir = tempDir(dirPrefix);
  const caCert = selfSignedCa(dir, 'ca', 'Culex Test CA');
  const serverCert = issue(
    dir,
    'server',
    '/CN=localhost',
    'ca',
    '30',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\n',
  );
  const clientCert = issue(dir, 'client', clientSubject, 'ca', '30');
  const foreignCaCert = selfSignedCa(dir, 'foreign-ca', 'Foreign CA');
  return {
    dir,
    caCert,
    serverCert,
    serverKey: join(dir, 'server.key'),
    clientCert,
    clientKey: join(dir, 'client.key'),
    foreignCaCert,
  };
}

export function makePki(clientSubject = '/C=GB/O=Acme, Inc./OU=Büro/CN=client1'): Pki {
  const base = makeBasePki(clientSubject);
  const { dir } = base;
  // -days -1: not-after lies before not-before, so the certificate is expired from the start.
  const expiredCert = issue(dir, 'expired', '/CN=expired', 'ca', '-1');
  const foreignCert = issue(dir, 'foreign', '/CN=intruder', 'foreign-ca', '30');
  const subjectLine = openssl(dir, [
    'x509',
    '-in',
    'client.crt',
    '-noout',
    '-subject',
    '-nameopt',
    'RFC2253',
  ]).trim();
  return {
    ...base,
    expiredCert,
    expiredKey: join(dir, 'expired.key'),
    foreignCert,
    foreignKey: join(dir, 'foreign.key'),
    clientSubjectRfc2253: subjectLine.replace(/^subject=/, ''),
  };
}
