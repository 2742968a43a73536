// Primitive wire writers: sizes are computed first, then values are written in place into one buffer.

/** Bytes a Variable Byte Integer takes. */
export function varintSize(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

export function writeVarint(buf: Buffer, off: number, n: number): number {
  while (n >= 128) {
    buf[off++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
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

/** Bytes of a length-prefixed UTF-8 string. */
export function stringSize(s: string): number {
  return 2 + Buffer.byteLength(s);
}

/** Node's direct UTF-8 writer; present on Buffer.prototype but missing from @types/node. */
interface FastWrite {
  utf8Write(s: string, offset: number): number;
}

export function writeString(buf: Buffer, off: number, s: string): number {
  const n = s.length === 0 ? 0 : (buf as unknown as FastWrite).utf8Write(s, off + 2);
  writeU16(buf, off, n);
  return off + 2 + n;
}

export function writeBinary(buf: Buffer, off: number, data: Buffer): number {
  writeU16(buf, off, data.length);
  data.copy(buf, off + 2);
  return off + 2 + data.length;
}
