// UTF-8 Encoded String rules of MQTT [MQTT-1.5.4-1..3], checked on raw bytes (decoder) and on JS strings (API).

import { isUtf8 } from 'node:buffer';
import { type MqttProtocolError, malformed } from './errors.js';

/** Longest UTF-8 string the two-byte length prefix can describe. */
export const MAX_STRING_BYTES = 65535;

/** Node's fast slicers; present on Buffer.prototype but missing from @types/node. */
interface FastSlice {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

/**
 * Decodes bytes [start, end) as an MQTT UTF-8 string, throwing MqttProtocolError (0x81) when they are ill formed,
 * contain U+0000, or contain code points Mosquitto refuses (C0/C1 controls, non-characters).
 */
export function decodeUtf8(buf: Buffer, start: number, end: number): string {
  // ASCII fast path: topics and client ids are nearly always plain ASCII.
  for (let i = start; i < end; i++) {
    const b = buf[i] as number;
    if (b < 0x20 || b >= 0x7f) return decodeUtf8Slow(buf, start, end);
  }
  return (buf as unknown as FastSlice).latin1Slice(start, end);
}

function decodeUtf8Slow(buf: Buffer, start: number, end: number): string {
  const error = checkUtf8Bytes(buf, start, end);
  if (error !== null) throw error;
  return (buf as unknown as FastSlice).utf8Slice(start, end);
}

/** Checks raw bytes against the MQTT UTF-8 rules; null when they are acceptable. */
export function checkUtf8Bytes(buf: Buffer, start: number, end: number): MqttProtocolError | null {
  for (let i = start; i < end; i++) {
    if (buf[i] === 0) return malformed('MQTT-1.5.4-2', 'UTF-8 string contains U+0000');
  }
  // [MQTT-1.5.4-1]: well formed, no surrogates, no overlong forms, nothing above U+10FFFF.
  if (!isUtf8(buf.subarray(start, end))) return malformed('MQTT-1.5.4-1', 'ill-formed UTF-8 string');
  let i = start;
  while (i < end) {
    const b = buf[i] as number;
    if (b < 0x80) {
      if (b < 0x20 || b === 0x7f) return disallowed();
      i++;
    } else if (b < 0xe0) {
      // U+0080..U+009F are the C1 controls.
      if (b === 0xc2 && (buf[i + 1] as number) < 0xa0) return disallowed();
      i += 2;
    } else if (b < 0xf0) {
      const b1 = buf[i + 1] as number;
      const b2 = buf[i + 2] as number;
      if (b === 0xef && ((b1 === 0xb7 && b2 >= 0x90 && b2 <= 0xaf) || (b1 === 0xbf && b2 >= 0xbe)))
        return disallowed();
      i += 3;
    } else {
      // Non-characters U+nFFFE / U+nFFFF in the supplementary planes.
      if (((buf[i + 1] as number) & 0x0f) === 0x0f && buf[i + 2] === 0xbf && (buf[i + 3] as number) >= 0xbe) {
        return disallowed();
      }
      i += 4;
    }
  }
  return null;
}

function disallowed(): MqttProtocolError {
  // MQTT says SHOULD NOT; Mosquitto treats these as malformed and so do we, to behave the same.
  return malformed('MQTT-1.5.4-1', 'UTF-8 string contains a control character or non-character');
}

/** Checks a JS string against the same rules (for strings that did not come off the wire). */
export function checkUtf8String(s: string): MqttProtocolError | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x20 && c < 0x7f) continue;
    if (c === 0) return malformed('MQTT-1.5.4-2', 'UTF-8 string contains U+0000');
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return disallowed();
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
      if (d < 0xdc00 || d > 0xdfff) return malformed('MQTT-1.5.4-1', 'lone surrogate in string');
      const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
      if ((cp & 0xfffe) === 0xfffe) return disallowed();
      i++;
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return malformed('MQTT-1.5.4-1', 'lone surrogate in string');
    } else if ((c >= 0xfdd0 && c <= 0xfdef) || c >= 0xfffe) {
      return disallowed();
    }
  }
  if (n > MAX_STRING_BYTES / 3 && Buffer.byteLength(s) > MAX_STRING_BYTES) {
    return malformed('MQTT-1.5.4-length', 'string longer than 65535 bytes');
  }
  return null;
}
