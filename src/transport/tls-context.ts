// Turns a listener's Mosquitto TLS options into Node `tls` server options, reading every file up front so a
// missing, unreadable or mismatched key / certificate fails the start with one error naming the file.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  createSecureContext,
  DEFAULT_CIPHERS,
  type TlsOptions as NodeTlsOptions,
  type TLSSocket,
  type Server as TlsServer,
} from 'node:tls';
import type { TlsOptions } from './listener-options.js';
import type { PskSource } from './psk-file.js';
import { RevocationList } from './revocation.js';
import { TlsSetupError } from './tls-setup-error.js';

/** TLS 1.3 suites OpenSSL enables by default; used when only `ciphers` (TLS <= 1.2) is configured. */
const DEFAULT_TLS13 = 'TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256';

const VERSIONS = { 'tlsv1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.1': 'TLSv1.1' } as const;

/** Everything a TLS-capable listener needs beyond the config options. */
export interface TlsServerSetup {
  options: NodeTlsOptions;
  /** PSK identity each socket authenticated with (TLS-PSK sessions only). */
  readonly pskIdentities: WeakMap<TLSSocket, string>;
  /** The crlfile's CRLs, checked against each client certificate after the handshake (see revocation.ts). */
  revocation: RevocationList | undefined;
  /** Servers using this material, so a reload can hand them a new context. */
  readonly servers: Set<TlsServer>;
}

function readMaterial(file: string, what: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TlsSetupError(file, `Unable to load ${what} "${file}" (${code}). Check ${option}.`);
  }
}

/** PEM blocks of the given kinds in every regular file of a directory (Mosquitto's capath). */
function readCaDirectory(dir: string): { certs: string[]; crls: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new TlsSetupError(dir, `Unable to load CA certificates from "${dir}" (${code}). Check capath.`);
  }
  const certs: string[] = [];
  const crls: string[] = [];
  for (const name of names.sort()) {
    const path = join(dir, name);
    let text: string;
    try {
      if (!statSync(path).isFile()) continue;
      text = readFileSync(path, 'latin1');
    } catch {
      continue; // an unreadable stray file in a CA directory is not fatal, as with OpenSSL's lookup
    }
    for (const m of text.matchAll(/-----BEGIN (CERTIFICATE|X509 CRL)-----[\s\S]*?-----END \1-----/g)) {
      (m[1] === 'CERTIFICATE' ? certs : crls).push(m[0]);
    }
  }
  return { certs, crls };
}

function cipherList(tls: TlsOptions, psk: boolean): string {
  const tls13 = tls.ciphersTls13 ?? DEFAULT_TLS13;
  let tls12 = tls.ciphers;
  if (tls12 === undefined) {
    const defaults = DEFAULT_CIPHERS.split(':').filter((c) => !c.startsWith('TLS_'));
    // Node's default list bans PSK suites outright; a psk_hint listener has to allow them.
    tls12 = psk ? [...defaults.filter((c) => c !== '!PSK'), 'PSK'].join(':') : defaults.join(':');
  }
  return `${tls13}:${tls12}`;
}

/**
 * Node server options for one listener. `psk` is consulted on every PSK handshake, so a reload that swaps its
 * table applies to new connections at once.
 */
export function buildTlsServerSetup(
  tls: TlsOptions,
  psk: PskSource | undefined,
  handshakeTimeoutMs: number,
  pskIdentities = new WeakMap<TLSSocket, string>(),
): TlsServerSetup {
  const options: NodeTlsOptions = {
    handshakeTimeout: handshakeTimeoutMs,
    requestCert: tls.requireCertificate,
    rejectUnauthorized: tls.requireCertificate,
    minVersion: 'TLSv1.2',
    ciphers: cipherList(tls, tls.pskHint !== undefined),
  };
  if (tls.tlsVersion !== undefined) {
    const min = VERSIONS[tls.tlsVersion.toLowerCase() as keyof typeof VERSIONS];
    if (min === undefined) throw new TlsSetupError('', `Unsupported tls_version "${tls.tlsVersion}".`);
    options.minVersion = min;
  }
  if (tls.certfile !== undefined) options.cert = readMaterial(tls.certfile, 'server certificate', 'certfile');
  if (tls.keyfile !== undefined) options.key = readMaterial(tls.keyfile, 'server key', 'keyfile');
  const ca: (string | Buffer)[] = [];
  const capathCrls: string[] = [];
  if (tls.cafile !== undefined) ca.push(readMaterial(tls.cafile, 'CA certificates', 'cafile'));
  if (tls.capath !== undefined) {
    const dir = readCaDirectory(tls.capath);
    ca.push(...dir.certs);
    capathCrls.push(...dir.crls);
  }
  if (ca.length > 0) options.ca = ca;
  // Not Node's `crl` option (it checks the whole chain and reads one CRL per PEM). As in Mosquitto, CRLs are
  // consulted only when crlfile is set (that is what turns on X509_V_FLAG_CRL_CHECK), capath's ones included.
  let revocation: RevocationList | undefined;
  if (tls.crlfile !== undefined) {
    const text = readMaterial(tls.crlfile, 'certificate revocation file', 'crlfile').toString('latin1');
    try {
      revocation = RevocationList.parse([text, ...capathCrls].join('\n'));
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new TlsSetupError(
        tls.crlfile,
        `Unable to load certificate revocation file "${tls.crlfile}" (${why}). Check crlfile.`,
      );
    }
  }
  if (tls.dhparamfile !== undefined)
    options.dhparam = readMaterial(tls.dhparamfile, 'DH parameters', 'dhparamfile');
  if (tls.pskHint !== undefined) {
    options.pskIdentityHint = tls.pskHint;
    options.pskCallback = (socket, identity) => {
      const key = psk?.key(identity);
      if (key === undefined) return null;
      pskIdentities.set(socket, identity);
      return key;
    };
  }
  validate(options, tls);
  return { options, pskIdentities, revocation, servers: new Set() };
}

/**
 * Reads a listener's TLS files again (SIGHUP). Throws, changing nothing, when any of them is unusable;
 * otherwise returns the step that makes them live: new handshakes get the new context, open connections
 * keep theirs [tls.Server#setSecureContext]. Split in two so a reload of several listeners is all or nothing.
 * The PSK callback and the handshake timeout are the server's own and stay as they are.
 */
export function prepareTlsReload(setup: TlsServerSetup, tls: TlsOptions): () => void {
  const next = buildTlsServerSetup(tls, undefined, setup.options.handshakeTimeout ?? 0, setup.pskIdentities);
  next.options.pskCallback = setup.options.pskCallback;
  return () => {
    for (const server of setup.servers) server.setSecureContext(next.options);
    setup.options = next.options;
    setup.revocation = next.revocation;
  };
}

/** Builds a context once now, so bad material fails at start-up rather than on the first handshake. */
function validate(options: NodeTlsOptions, tls: TlsOptions): void {
  const probe = (fields: NodeTlsOptions, file: string, what: string): void => {
    try {
      createSecureContext(fields);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new TlsSetupError(file, `Unable to use ${what} "${file}": ${reason}.`);
    }
  };
  // Each file alone first, so the error names the one at fault; then the pair, for a key that does not match.
  if (options.ca !== undefined) probe({ ca: options.ca }, tls.cafile ?? tls.capath ?? '', 'CA certificates');
  if (options.cert !== undefined) probe({ cert: options.cert }, tls.certfile ?? '', 'server certificate');
  if (options.dhparam !== undefined)
    probe({ dhparam: options.dhparam }, tls.dhparamfile ?? '', 'DH parameters');
  if (options.ciphers !== undefined) {
    try {
      createSecureContext({ ciphers: options.ciphers });
    } catch (err) {
      throw new TlsSetupError(
        '',
        `Invalid "ciphers" / "ciphers_tls1.3" list "${options.ciphers}": ${String(err)}.`,
      );
    }
  }
  if (options.key !== undefined && options.cert !== undefined) {
    try {
      createSecureContext({ key: options.key, cert: options.cert });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const mismatch = /mismatch/i.test(reason);
      const file = mismatch ? `${tls.certfile} / ${tls.keyfile}` : (tls.keyfile ?? '');
      const message = mismatch
        ? `Server certificate "${tls.certfile}" does not match key "${tls.keyfile}".`
        : `Unable to use server key "${tls.keyfile}": ${reason}.`;
      throw new TlsSetupError(file, message);
    }
  }
}
