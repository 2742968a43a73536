// PROXY protocol headers (HAProxy's proxy-protocol.txt, versions 1 and 2) as Mosquitto 2.1's
// `enable_proxy_protocol` reads them: the header precedes the MQTT bytes and carries the real client address.

import { isIPv4, isIPv6 } from 'node:net';

/** Version 1: a text line of at most 107 bytes, CRLF included (proxy-protocol.txt section 2.1). */
export const PROXY_V1_MAX_BYTES = 107;
/** Version 2: 16 fixed bytes, then at most Mosquitto 2.1's PROXY_PACKET_LIMIT (500) bytes of addresses and TLVs. */
export const PROXY_V2_MAX_BODY_BYTES = 500;
const V2_FIXED = 16;
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

const CMD_PROXY = 0x01;
const FAM_TCP4 = 0x11;
const FAM_TCP6 = 0x21;
const FAM_UNIX = 0x31;
const PP2_TYPE_SSL = 0x20;
const PP2_SUBTYPE_SSL_CN = 0x22;
const PP2_CLIENT_SSL = 0x01;
const PP2_CLIENT_CERT_SESS = 0x04;

export interface ProxiedPeer {
  /** Source address as Culex logs it: "ip:port", or the Unix socket path. */
  readonly address: string;
  /** Bytes the header took; what follows belongs to MQTT. */
  readonly consumed: number;
  /** v2 only: the proxy says the client reached it over TLS (PP2_TYPE_SSL with PP2_CLIENT_SSL). */
  readonly tls: boolean;
  /** v2 only: the client presented a certificate the proxy verified. */
  readonly certificate: boolean;
  /** v2 only: the certificate's common name (PP2_SUBTYPE_SSL_CN). */
  readonly commonName?: string;
}

/** `undefined` while more bytes are needed; a string says why the header is refused. */
export type ProxyParse = ProxiedPeer | string | undefined;

export function parseProxyHeader(buf: Buffer, version: 1 | 2): ProxyParse {
  return version === 1 ? parseV1(buf) : parseV2(buf);
}

const PORT = /^(0|[1-9]\d{0,4})$/;

function parseV1(buf: Buffer): ProxyParse {
  const prefix = Math.min(buf.length, 6);
  if (!buf.subarray(0, prefix).equals(Buffer.from('PROXY ').subarray(0, prefix)))
    return 'not a PROXY v1 header';
  const end = buf.indexOf('\r\n');
  if (end === -1) return buf.length >= PROXY_V1_MAX_BYTES ? 'PROXY v1 header too long' : undefined;
  if (end + 2 > PROXY_V1_MAX_BYTES) return 'PROXY v1 header too long';
  const words = buf.toString('latin1', 6, end).split(' ');
  const [family, src, dst, sport, dport] = words;
  // UNKNOWN carries no address; Mosquitto 2.1 refuses v2's LOCAL (no address) and Culex refuses this alike.
  if (family !== 'TCP4' && family !== 'TCP6') return 'PROXY v1 header without a client address';
  const valid = family === 'TCP4' ? isIPv4 : isIPv6;
  if (words.length !== 5 || src === undefined || dst === undefined || !valid(src) || !valid(dst)) {
    return 'corrupt PROXY v1 header';
  }
  if (sport === undefined || dport === undefined || !PORT.test(sport) || !PORT.test(dport)) {
    return 'corrupt PROXY v1 header';
  }
  if (Number(sport) > 65535 || Number(dport) > 65535) return 'corrupt PROXY v1 header';
  return { address: `${src}:${sport}`, consumed: end + 2, tls: false, certificate: false };
}

function parseV2(buf: Buffer): ProxyParse {
  const prefix = Math.min(buf.length, V2_SIGNATURE.length);
  if (!buf.subarray(0, prefix).equals(V2_SIGNATURE.subarray(0, prefix))) return 'not a PROXY v2 header';
  if (buf.length < V2_FIXED) return undefined;
  const verCmd = buf[12] as number;
  const fam = buf[13] as number;
  const len = buf.readUInt16BE(14);
  if ((verCmd & 0xf0) !== 0x20) return 'corrupt PROXY v2 header';
  // LOCAL (health checks) carries no client address: Mosquitto 2.1 rejects the connection.
  if ((verCmd & 0x0f) !== CMD_PROXY) return 'PROXY v2 header without a client address';
  const minimum = fam === FAM_TCP4 ? 12 : fam === FAM_TCP6 ? 36 : fam === FAM_UNIX ? 216 : -1;
  if (minimum < 0) return 'unsupported PROXY v2 address family';
  if (len < minimum || len > PROXY_V2_MAX_BODY_BYTES) return 'corrupt PROXY v2 header';
  if (buf.length < V2_FIXED + len) return undefined;
  const body = buf.subarray(V2_FIXED, V2_FIXED + len);
  let address: string;
  if (fam === FAM_TCP4) {
    address = `${[...body.subarray(0, 4)].join('.')}:${body.readUInt16BE(8)}`;
  } else if (fam === FAM_TCP6) {
    address = `${ipv6Text(body.subarray(0, 16))}:${body.readUInt16BE(32)}`;
  } else {
    const path = body.subarray(0, 108);
    const nul = path.indexOf(0);
    address = path.toString('utf8', 0, nul === -1 ? 108 : nul);
  }
  const tlvs = readTlvs(body.subarray(minimum));
  if (typeof tlvs === 'string') return tlvs;
  return { address, consumed: V2_FIXED + len, ...tlvs };
}

interface TlsFacts {
  tls: boolean;
  certificate: boolean;
  commonName?: string;
}

/** Type-length-value records after the addresses; only PP2_TYPE_SSL matters to the broker. */
function readTlvs(data: Buffer): TlsFacts | string {
  const facts: TlsFacts = { tls: false, certificate: false };
  let pos = 0;
  while (pos < data.length) {
    if (data.length - pos < 3) return 'corrupt PROXY header';
    const type = data[pos] as number;
    const length = data.readUInt16BE(pos + 1);
    pos += 3;
    if (length > data.length - pos) return 'corrupt PROXY header';
    if (type === PP2_TYPE_SSL) {
      const ssl = readSsl(data.subarray(pos, pos + length), facts);
      if (ssl !== undefined) return ssl;
    }
    pos += length;
  }
  return facts;
}

function readSsl(value: Buffer, facts: TlsFacts): string | undefined {
  if (value.length < 5) return 'corrupt PROXY header';
  const client = value[0] as number;
  const verify = value.readUInt32BE(1);
  facts.tls = true;
  facts.certificate =
    (client & PP2_CLIENT_SSL) !== 0 && (client & PP2_CLIENT_CERT_SESS) !== 0 && verify === 0;
  let pos = 5;
  while (pos < value.length) {
    if (value.length - pos < 3) return 'corrupt PROXY header';
    const type = value[pos] as number;
    const length = value.readUInt16BE(pos + 1);
    pos += 3;
    if (length > value.length - pos) return 'corrupt PROXY header';
    if (type === PP2_SUBTYPE_SSL_CN) facts.commonName = value.toString('utf8', pos, pos + length);
    pos += length;
  }
  return undefined;
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // Compress the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best === -1) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}
