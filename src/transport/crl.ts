// A minimal DER reader for X.509 CRLs (RFC 5280 section 5). Our own because Node's crypto parses certificates
// (X509Certificate) but not CRLs, and its `crl` server option cannot be used: it turns on CRL_CHECK_ALL (every
// certificate of the chain needs a CRL) and reads only the first CRL of a PEM file. A CRL here is only parsed;
// its signature is checked against the issuer's key when a leaf is checked (see revocation.ts).

/** One CRL: who issued it, when it is valid, which serial numbers it revokes, and what its signature covers. */
export interface Crl {
  /** DER of the issuer Name, compared byte for byte with a certificate's issuer. */
  readonly issuer: Buffer;
  readonly thisUpdate: number;
  /** Absent when the CRL gives no next update (it then never expires). */
  readonly nextUpdate: number | undefined;
  /** Revoked serial numbers as lowercase hex without leading zero bytes. */
  readonly revoked: ReadonlySet<string>;
  /** The signed part (TBSCertList, with its header) and the signature over it. */
  readonly signed: Buffer;
  readonly signatureAlgorithm: string;
  readonly signature: Buffer;
}

export class CrlParseError extends Error {}

interface Tlv {
  readonly tag: number;
  /** Offset of the tag byte. */
  readonly start: number;
  /** Offset of the first content byte. */
  readonly body: number;
  /** Offset just past the content. */
  readonly end: number;
}

function readTlv(buf: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new CrlParseError('truncated DER');
  const tag = buf[offset]!;
  let length = buf[offset + 1]!;
  let body = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // Four length bytes already exceed any CRL worth reading; more is malformed or hostile.
    if (count === 0 || count > 4 || body + count > limit) throw new CrlParseError('bad DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[body + i]!;
    body += count;
  }
  const end = body + length;
  if (end > limit) throw new CrlParseError('DER element overruns its container');
  return { tag, start: offset, body, end };
}

/** The elements of a constructed value, in order. */
function children(buf: Buffer, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.body; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

function expect(t: Tlv | undefined, tag: number, what: string): Tlv {
  if (t === undefined || t.tag !== tag) throw new CrlParseError(`expected ${what}`);
  return t;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const BIT_STRING = 0x03;
const OID = 0x06;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

function oid(buf: Buffer, t: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = t.body; i < t.end; i++) {
    const b = buf[i]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0)
        parts.push(value < 80 ? Math.floor(value / 40) : 2, value < 80 ? value % 40 : value - 80);
      else parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

function time(buf: Buffer, t: Tlv): number {
  const s = buf.toString('latin1', t.body, t.end);
  const m =
    t.tag === UTC_TIME
      ? /^(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(s)
      : /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(?:\.\d+)?Z$/.exec(s);
  if (m === null) throw new CrlParseError(`bad time "${s}"`);
  let year = Number(m[1]);
  // RFC 5280 4.1.2.5.1: two-digit years 50-99 are 19xx, 00-49 are 20xx.
  if (t.tag === UTC_TIME) year += year >= 50 ? 1900 : 2000;
  return Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
}

function isTime(t: Tlv | undefined): t is Tlv {
  return t !== undefined && (t.tag === UTC_TIME || t.tag === GENERALIZED_TIME);
}

/** An INTEGER's content as hex, leading zero bytes dropped, so equal serials compare equal as strings. */
function serialHex(buf: Buffer, t: Tlv): string {
  let from = t.body;
  while (from < t.end - 1 && buf[from] === 0) from++;
  return buf.toString('hex', from, t.end);
}

/** Parses one DER-encoded CertificateList. */
export function parseCrlDer(der: Buffer): Crl {
  const top = readTlv(der, 0, der.length);
  const [tbsTlv, algTlv, sigTlv] = children(der, expect(top, SEQUENCE, 'CertificateList'));
  const tbs = expect(tbsTlv, SEQUENCE, 'TBSCertList');
  const fields = children(der, tbs);
  let i = 0;
  if (fields[i]?.tag === INTEGER) i++; // version (v2)
  expect(fields[i++], SEQUENCE, 'signature algorithm');
  const issuer = expect(fields[i++], SEQUENCE, 'issuer');
  const thisTlv = fields[i++];
  if (!isTime(thisTlv)) throw new CrlParseError('expected thisUpdate');
  let nextUpdate: number | undefined;
  const maybeNext = fields[i];
  if (isTime(maybeNext)) {
    nextUpdate = time(der, maybeNext);
    i++;
  }
  const revoked = new Set<string>();
  const list = fields[i];
  if (list !== undefined && list.tag === SEQUENCE) {
    for (const entry of children(der, list)) {
      const [serial] = children(der, expect(entry, SEQUENCE, 'revoked entry'));
      revoked.add(serialHex(der, expect(serial, INTEGER, 'serial number')));
    }
  }
  const [algOid] = children(der, expect(algTlv, SEQUENCE, 'signatureAlgorithm'));
  const sig = expect(sigTlv, BIT_STRING, 'signatureValue');
  if (sig.end - sig.body < 1 || der[sig.body] !== 0) throw new CrlParseError('bad signature bit string');
  return {
    issuer: der.subarray(issuer.start, issuer.end),
    thisUpdate: time(der, thisTlv),
    nextUpdate,
    revoked,
    signed: der.subarray(tbs.start, tbs.end),
    signatureAlgorithm: oid(der, expect(algOid, OID, 'algorithm OID')),
    signature: der.subarray(sig.body + 1, sig.end),
  };
}

/** Every `X509 CRL` block of a PEM file, as OpenSSL's X509_load_crl_file reads them. */
export function parseCrlPem(text: string): Crl[] {
  const out: Crl[] = [];
  for (const m of text.matchAll(/-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g)) {
    out.push(parseCrlDer(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

/** Issuer Name DER and serial number of a DER certificate (tbsCertificate's first fields). */
export function certificateIssuerAndSerial(der: Buffer): { issuer: Buffer; serial: string } {
  const top = readTlv(der, 0, der.length);
  const [tbsTlv] = children(der, expect(top, SEQUENCE, 'Certificate'));
  const fields = children(der, expect(tbsTlv, SEQUENCE, 'TBSCertificate'));
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] EXPLICIT version
  const serial = serialHex(der, expect(fields[i++], INTEGER, 'serial number'));
  expect(fields[i++], SEQUENCE, 'signature algorithm');
  const issuer = expect(fields[i], SEQUENCE, 'issuer');
  return { issuer: der.subarray(issuer.start, issuer.end), serial };
}
