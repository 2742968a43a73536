// Byte builders for the conformance tests: hand-made packets that our encoder would refuse to produce
// (bad flags, bad UTF-8, missing fields), so the broker's reaction to them can be checked on the wire.

/** A length-prefixed MQTT string from text or exact bytes. */
export function str(s: string | Buffer | readonly number[]): Buffer {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s as Uint8Array);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
}

/** A two-byte packet identifier. */
export function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** A whole packet: first byte, Remaining Length, then the body parts. */
export function packet(first: number, ...parts: ReadonlyArray<Buffer | readonly number[]>): Buffer {
  const body = Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p as number[]))));
  const len: number[] = [];
  let n = body.length;
  do {
    let d = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) d |= 0x80;
    len.push(d);
  } while (n > 0);
  return Buffer.concat([Buffer.from([first, ...len]), body]);
}

/** A 3.1.1 (level 4) CONNECT with explicit connect flags and payload fields, for malformed variants. */
export function connect311(flags: number, ...payload: Buffer[]): Buffer {
  return packet(0x10, str('MQTT'), [4, flags, 0, 60], ...payload);
}

/** A 5.0 CONNECT with explicit connect flags, empty properties and the given payload fields. */
export function connect5raw(flags: number, ...payload: Buffer[]): Buffer {
  return packet(0x10, str('MQTT'), [5, flags, 0, 60, 0], ...payload);
}

/** Bytes that are not well-formed UTF-8 (a lone continuation byte). */
export const BAD_UTF8: readonly number[] = [0x61, 0x80, 0x62];
/** UTF-8 encoding of a surrogate code point (U+D800), forbidden in MQTT strings. */
export const SURROGATE: readonly number[] = [0x61, 0xed, 0xa0, 0x80];
