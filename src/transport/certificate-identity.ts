// The username a TLS listener takes from the connection itself: the certificate's CN, its whole subject in
// RFC 2253 form (as Mosquitto prints it), or the TLS-PSK identity.

import type { TLSSocket } from 'node:tls';
import type { TlsOptions } from './listener-options.js';

/**
 * Mosquitto's subject string: OpenSSL's X509_NAME_print_ex with XN_FLAG_RFC2253 — last RDN first, joined by
 * commas, multi-valued RDNs joined by '+', and bytes above 0x7F escaped as \XX.
 * Input is Node's X509Certificate#subject: one RDN per line in certificate order, values already escaped per
 * RFC 2253 (",+\"\\<>;", leading '#'/' ', trailing ' '), multi-valued parts separated by " + ".
 */
export function rfc2253Subject(multiline: string): string {
  return multiline
    .split('\n')
    .filter((line) => line.length > 0)
    .reverse()
    .map((rdn) => escapeHighBytes(rdn.split(' + ').join('+')))
    .join(',');
}

function escapeHighBytes(text: string): string {
  // Fast path: pure ASCII needs no escaping.
  if (!/[^\p{ASCII}]/u.test(text)) return text;
  let out = '';
  for (const ch of text) {
    if (ch.charCodeAt(0) < 0x80) out += ch;
    else for (const b of Buffer.from(ch, 'utf8')) out += `\\${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** First commonName of the peer certificate, or undefined when it has none. */
function commonName(socket: TLSSocket): string | undefined {
  const cn: unknown = socket.getPeerCertificate().subject?.CN;
  if (typeof cn === 'string') return cn;
  if (Array.isArray(cn) && typeof cn[0] === 'string') return cn[0];
  return undefined;
}

/**
 * What the connection says its user is: a string, `undefined` when the listener does not take usernames from
 * TLS, or `null` when it should but the client gave nothing usable (Mosquitto refuses such a client).
 */
export function tlsUsername(
  socket: TLSSocket,
  tls: TlsOptions,
  pskIdentity: string | undefined,
): string | null | undefined {
  if (!tls.useIdentityAsUsername && !tls.useSubjectAsUsername) return undefined;
  // On a PSK listener the identity is the username; a certificate is never looked at.
  if (tls.pskHint !== undefined) return pskIdentity ?? null;
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return null;
  if (tls.useIdentityAsUsername) {
    const cn = commonName(socket);
    // An embedded NUL would let "admin\0.evil.com" pass as "admin" in C; Mosquitto rejects it, so do we.
    return cn === undefined || cn.includes('\0') ? null : cn;
  }
  return rfc2253Subject(cert.subject);
}
