// Primitive wire writers: sizes are computed first, then values are written in place into one buffer.

/** Bytes a Variable Byte Integer takes. */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

export function writeVarint(buf: Buffer, off: number, n: number): number {
  // Bit operations are exact here: a Variable Byte Integer never exceeds 2^28 - 1.
  while (n >= 128) {
    buf[off++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[off++] = n;
  return off;
}

export function writeU16(buf: Buffer, off: number, n: number): number {
  buf[off] = n >>> 8;
  buf[off + 1] = n & 0xff;
  return off + 2;
}

export function writeU32(buf: Buffer, off: number, n: number): number {
  buf[off] = n >>> 24;
  buf[off + 1] = (n >>> 16) & 0xff;
  buf[off + 2] = (n >>> 8) & 0xff;
  buf[off + 3] = n & 0xff;
  return off + 4;
}

/** Strings up to this length are scanned and written in JS; a native call costs more than the loop below it. */
const SHORT_STRING = 48;

/** UTF-8 byte length of `s`; short ASCII strings (most topics and ids) skip the native call. */
export function utf8Length(s: string): number {
  const len = s.length;
  if (len > SHORT_STRING) return Buffer.byteLength(s);
  for (let i = 0; i < len; i++) if (s.charCodeAt(i) >= 0x80) return Buffer.byteLength(s);
  return len;
}

/** Bytes of a length-prefixed UTF-8 string. */
export function stringSize(s: string): number {
  return 2 + utf8Length(s);
}

/** Node's direct string writers; present on Buffer.prototype but missing from @types/node. */
interface FastWrite {
  utf8Write(s: string, offset: number): number;
  latin1Write(s: string, offset: number): number;
}

/**
 * Writes `s` with its length prefix when its UTF-8 length `n` is already known. UTF-8 length equals the UTF-16
 * length only for pure ASCII, so that case can be written one byte per code unit.
 */
export function writeStringOfLength(buf: Buffer, off: number, s: string, n: number): number {
  buf[off] = n >>> 8;
  buf[off + 1] = n & 0xff;
  off += 2;
  if (n !== s.length) (buf as unknown as FastWrite).utf8Write(s, off);
  else if (n > SHORT_STRING) (buf as unknown as FastWrite).latin1Write(s, off);
  else for (let i = 0; i < n; i++) buf[off + i] = s.charCodeAt(i);
  return off + n;
}

export function writeString(buf: Buffer, off: number, s: string): number {
  if (s.length <= SHORT_STRING) return writeStringOfLength(buf, off, s, utf8Length(s));
  // Long strings: one native call both writes and measures.
  const n = (buf as unknown as FastWrite).utf8Write(s, off + 2);
  writeU16(buf, off, n);
  return off + 2 + n;
}

export function writeBinary(buf: Buffer, off: number, data: Buffer): number {
  writeU16(buf, off, data.length);
  buf.set(data, off + 2);
  return off + 2 + data.length;
}
