// Seeded randomness and byte mutations shared by the decoder fuzzer and the network fuzzer, so a printed seed
// replays the same inputs.

/** xorshift32: small, fast, reproducible from the seed. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed | 0 || 1;
  }
  next(): number {
    let s = this.state;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.state = s;
    return (s >>> 0) / 4294967296;
  }
  /** 0 <= result < n. */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)] as T;
  }
  bytes(n: number): Buffer {
    const r = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) r[i] = this.int(256);
    return r;
  }
}

/** One random damage to `base` (flip, truncate, splice, overwrite, lie about the length, insert, delete...). */
export function mutate(rng: Rng, base: Buffer, pool: readonly Buffer[]): Buffer {
  const b = Buffer.from(base);
  switch (rng.int(10)) {
    case 0: {
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips && b.length > 0; i++) {
        const at = rng.int(b.length);
        b[at] = (b[at] as number) ^ (1 << rng.int(8));
      }
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(b.length + 1));
    case 2: {
      const other = rng.pick(pool);
      return Buffer.concat([b.subarray(0, rng.int(b.length + 1)), other.subarray(rng.int(other.length + 1))]);
    }
    case 3:
      if (b.length > 0) b[rng.int(b.length)] = rng.int(256);
      return b;
    case 4:
      // Lie about the remaining length.
      if (b.length > 1) b[1] = rng.int(256);
      return b;
    case 5:
      return rng.bytes(rng.int(64));
    case 6: {
      // Several valid packets back to back, one of them damaged.
      const parts: Buffer[] = [b];
      for (let i = rng.int(4); i > 0; i--) parts.push(rng.pick(pool));
      const s = Buffer.concat(parts);
      if (s.length > 0) s[rng.int(s.length)] = rng.int(256);
      return s;
    }
    case 7: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)]);
    }
    case 8: {
      const at = rng.int(b.length + 1);
      return Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rng.int(8))]);
    }
    default:
      return b;
  }
}

/** Splits `input` the way a network might: whole, byte by byte, or at random points. */
export function chunks(rng: Rng, input: Buffer): Buffer[] {
  const mode = rng.int(4);
  if (mode === 0 || input.length < 2) return [input];
  if (mode === 1 && input.length <= 4096) return [...input].map((x) => Buffer.from([x]));
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < input.length) {
    const n = 1 + rng.int(Math.max(1, input.length - pos));
    out.push(input.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}
