// Checks a client's certificate against the listener's crlfile the way Mosquitto 2.0 does: OpenSSL's
// X509_V_FLAG_CRL_CHECK, i.e. the leaf only (not the intermediates), against every CRL the file holds.

import { verify, X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { type Crl, certificateIssuerAndSerial, parseCrlPem } from './crl.js';

/** Digest for each signature algorithm OID a CRL may use; null: the key type implies it (EdDSA). */
const DIGESTS: ReadonlyMap<string, string | null> = new Map([
  ['1.2.840.113549.1.1.5', 'sha1'],
  ['1.2.840.113549.1.1.14', 'sha224'],
  ['1.2.840.113549.1.1.11', 'sha256'],
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.1', 'sha1'],
  ['1.2.840.10045.4.3.1', 'sha224'],
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
  ['1.3.101.112', null],
  ['1.3.101.113', null],
]);

function signatureValid(crl: Crl, issuer: X509Certificate): boolean {
  const digest = DIGESTS.get(crl.signatureAlgorithm);
  if (digest === undefined) return false; // RSA-PSS and other algorithms: not supported, so not trusted
  try {
    return verify(digest, crl.signed, issuer.publicKey, crl.signature);
  } catch {
    return false;
  }
}

export class RevocationList {
  /** Issuer certificate (DER) each CRL's signature was last verified with: saves a verify per handshake. */
  private readonly verifiedWith = new Map<Crl, Buffer>();

  private constructor(readonly crls: readonly Crl[]) {}

  /** Throws when the text holds no CRL or a malformed one (Mosquitto refuses such a crlfile at start). */
  static parse(text: string): RevocationList {
    const crls = parseCrlPem(text);
    if (crls.length === 0) throw new Error('no X509 CRL found');
    return new RevocationList(crls);
  }

  /**
   * Why `leaf` (DER) must be refused, in OpenSSL's words, or undefined when it may go on. `issuer` is the
   * certificate that signed it, whose key must have signed the CRL.
   */
  failure(leaf: Buffer, issuer: Buffer | undefined, now: number = Date.now()): string | undefined {
    const { issuer: issuerName, serial } = certificateIssuerAndSerial(leaf);
    const mine = this.crls.filter((c) => c.issuer.equals(issuerName));
    if (mine.length === 0 || issuer === undefined) return 'unable to get certificate CRL';
    const current = mine.filter(
      (c) => c.thisUpdate <= now && (c.nextUpdate === undefined || now < c.nextUpdate),
    );
    if (current.length === 0) {
      return mine.some((c) => c.thisUpdate > now) ? 'CRL is not yet valid' : 'CRL has expired';
    }
    let signer: X509Certificate | undefined;
    for (const crl of current) {
      if (this.verifiedWith.get(crl)?.equals(issuer) !== true) {
        signer ??= new X509Certificate(issuer);
        if (!signatureValid(crl, signer)) return 'CRL signature failure';
        this.verifiedWith.set(crl, issuer);
      }
      if (crl.revoked.has(serial)) return 'certificate revoked';
    }
    return undefined;
  }

  /** The same for a finished TLS handshake; a peer without a certificate has nothing to check. */
  peerFailure(socket: TLSSocket): string | undefined {
    const peer = socket.getPeerCertificate(true);
    if (peer?.raw === undefined) return undefined;
    try {
      return this.failure(peer.raw, peer.issuerCertificate?.raw);
    } catch (err) {
      return `unreadable client certificate (${err instanceof Error ? err.message : String(err)})`;
    }
  }
}
