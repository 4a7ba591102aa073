/**
 * A bit writer and reader for the chunk codec (chunk-codec.ts). Bits are packed most significant first, and
 * words go through DataView in big-endian order, so the bytes are the same on any host.
 *
 * JS bit operators work on 32 bits, so every call moves at most 32 bits; callers split wider fields.
 */

/** Thrown for any input the codec cannot decode; the message says what is wrong with the bytes. */
export class ChunkCodecError extends Error {
  override name = 'ChunkCodecError';
}

/*
 * Signed buckets, the variable-length code of Gorilla §4.1.1 with widths chosen by the caller: '0' for 0, then
 * '10', '110', '1110', '11110' each followed by the value in b1..b4 bits (offset binary), and '11111' as the
 * escape after which the caller writes its own wide form.
 */

/** Payload widths of the four signed buckets after the '0' code; the fifth prefix '11111' is the escape. */
export interface Buckets {
  readonly b1: number;
  readonly b2: number;
  readonly b3: number;
  readonly b4: number;
}

/**
 * Appends bits to a growable buffer. Pending bits wait in a 32-bit accumulator and leave as one big-endian word,
 * which is far cheaper than a byte at a time. One writer is reused across encodes (reset), so the ingest path
 * allocates only the output copy.
 */
export class BitWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  /** Bytes of full words written. */
  private pos = 0;
  /** Pending bits, right-aligned; bits above `nacc` are garbage and are shifted out before they are written. */
  private acc = 0;
  private nacc = 0;

  private saved = { pos: 0, acc: 0, nacc: 0 };

  reset(): void {
    this.pos = 0;
    this.acc = 0;
    this.nacc = 0;
  }

  /** Remembers the position, so a trial encoding can be undone with restore(). One slot. */
  save(): void {
    this.saved.pos = this.pos;
    this.saved.acc = this.acc;
    this.saved.nacc = this.nacc;
  }

  restore(): void {
    this.pos = this.saved.pos;
    this.acc = this.saved.acc;
    this.nacc = this.saved.nacc;
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.pos * 8 + this.nacc;
  }

  /** Makes room for `bytes` more bytes; call before a run of writes (a point writes at most ~20 bytes). */
  reserve(bytes: number): void {
    if (this.pos + bytes + 8 <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + bytes + 8));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Writes the low `n` bits of `v` (1 <= n <= 32; v must be < 2^n, as an unsigned or int32 value). */
  write(v: number, n: number): void {
    const free = 32 - this.nacc;
    if (n < free) {
      this.acc = (this.acc << n) | v;
      this.nacc += n;
      return;
    }
    const rest = n - free;
    // When nacc is 0, free is 32 and `acc << 32` is `acc << 0`; acc holds no valid bits then, and v fills the word.
    const word = this.nacc === 0 ? v : (this.acc << free) | (v >>> rest);
    this.view.setUint32(this.pos, word >>> 0);
    this.pos += 4;
    this.acc = v;
    this.nacc = rest;
  }

  /** Writes a safe integer 0 <= v < 2^53 in `n` bits (n <= 53). */
  writeWide(v: number, n: number): void {
    if (n <= 32) {
      this.write(v, n);
      return;
    }
    this.write(Math.floor(v / 4294967296), n - 32);
    this.write(v >>> 0, 32);
  }

  /** LEB128 of a safe integer >= 0, byte by byte; at most 8 bytes for 2^53 - 1. */
  writeVarint(v: number): void {
    while (v >= 128) {
      this.write((v % 128) | 128, 8);
      v = Math.floor(v / 128);
    }
    this.write(v, 8);
  }

  /** Writes v in the smallest bucket; when none fits, writes the escape '11111' and returns false. */
  writeBucket(v: number, b: Buckets): boolean {
    if (v === 0) {
      this.write(0, 1);
      return true;
    }
    let h = 1 << (b.b1 - 1);
    if (v >= -h && v < h) this.write((0b10 << b.b1) | (v + h), b.b1 + 2);
    else if (v >= -(h = 1 << (b.b2 - 1)) && v < h) this.write((0b110 << b.b2) | (v + h), b.b2 + 3);
    else if (v >= -(h = 1 << (b.b3 - 1)) && v < h) this.write((0b1110 << b.b3) | (v + h), b.b3 + 4);
    else if (v >= -(h = 1 << (b.b4 - 1)) && v < h) this.write((0b11110 << b.b4) | (v + h), b.b4 + 5);
    else {
      this.write(0b11111, 5);
      return false;
    }
    return true;
  }

  /** Writes the 64-bit word (hi, lo) >>> shift in `len` bits. */
  writeWindow(hi: number, lo: number, shift: number, len: number): void {
    if (shift >= 32) {
      this.write(hi >>> (shift - 32), len);
      return;
    }
    if (shift > 0) {
      lo = (lo >>> shift) | (hi << (32 - shift));
      hi >>>= shift;
    }
    if (len > 32) {
      this.write(hi, len - 32);
      this.write(lo, 32);
    } else this.write(lo >>> 0, len);
  }

  /** Pads with zero bits to a byte boundary. */
  align(): void {
    const pad = (8 - (this.nacc & 7)) & 7;
    if (pad !== 0) this.write(0, pad);
  }

  /** Appends bytes; the writer must be byte-aligned. */
  writeBytes(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    for (let i = 0; i < bytes.length; i++) this.write(bytes[i] ?? 0, 8);
  }

  /** A copy of the bytes written, the last one padded with zero bits. */
  finish(): Uint8Array {
    this.reserve(4);
    const n = this.nacc;
    if (n > 0) this.view.setUint32(this.pos, (this.acc << (32 - n)) >>> 0);
    return this.buf.slice(0, this.pos + Math.ceil(n / 8));
  }
}

/**
 * Reads bits from a private, zero-padded copy of the input, so a read near the end never leaves the buffer;
 * every read checks the bit position against the true end and throws on truncation.
 */
export class BitReader {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private pos = 0;
  private end = 0;

  reset(data: Uint8Array): void {
    if (data.length + 8 > this.buf.length) {
      this.buf = new Uint8Array(Math.max(this.buf.length * 2, data.length + 8));
      this.view = new DataView(this.buf.buffer);
    }
    this.buf.set(data);
    this.buf.fill(0, data.length, data.length + 8);
    this.pos = 0;
    this.end = data.length * 8;
  }

  get bitPosition(): number {
    return this.pos;
  }

  get bitsLeft(): number {
    return this.end - this.pos;
  }

  private truncated(): never {
    throw new ChunkCodecError(`chunk is truncated: a field ends at bit ${this.pos} of ${this.end}`);
  }

  /** Reads `n` bits (1 <= n <= 32) as an unsigned value. */
  read(n: number): number {
    const p = this.pos;
    this.pos = p + n;
    if (this.pos > this.end) this.truncated();
    const i = p >>> 3;
    const off = p & 7;
    let w = this.view.getUint32(i);
    if (off !== 0) w = (w << off) | (this.view.getUint8(i + 4) >>> (8 - off));
    return w >>> (32 - n);
  }

  readBit(): number {
    const p = this.pos;
    if (p >= this.end) this.truncated();
    this.pos = p + 1;
    return (this.view.getUint8(p >>> 3) >>> (7 - (p & 7))) & 1;
  }

  /** The next `n` bits (1 <= n <= 25) without consuming them; bits past the end read as 0. */
  peek(n: number): number {
    const p = this.pos;
    return (this.view.getUint32(p >>> 3) << (p & 7)) >>> (32 - n);
  }

  skip(n: number): void {
    this.pos += n;
    if (this.pos > this.end) this.truncated();
  }

  /** Reads an unsigned value of `n` bits (n <= 53) as a safe integer. */
  readWide(n: number): number {
    if (n <= 32) return this.read(n);
    const hi = this.read(n - 32);
    return hi * 4294967296 + this.read(32);
  }

  /** LEB128 written by BitWriter.writeVarint; rejects more than 8 bytes or a value beyond 2^53 - 1. */
  readVarint(what: string): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      const b = this.read(8);
      v += (b & 127) * scale;
      if (b < 128) {
        if (v > Number.MAX_SAFE_INTEGER) break;
        return v;
      }
      scale *= 128;
    }
    throw new ChunkCodecError(`chunk is corrupt: the ${what} is not a varint of at most 2^53 - 1`);
  }

  /** Reads what writeBucket wrote; NaN for the escape. */
  readBucket(b: Buckets): number {
    // The count of leading ones in the next 5 bits is the bucket; past the end peek reads zeros, skip throws.
    switch (Math.clz32(~(this.peek(5) << 27))) {
      case 0:
        this.skip(1);
        return 0;
      case 1:
        this.skip(2);
        return this.read(b.b1) - (1 << (b.b1 - 1));
      case 2:
        this.skip(3);
        return this.read(b.b2) - (1 << (b.b2 - 1));
      case 3:
        this.skip(4);
        return this.read(b.b3) - (1 << (b.b3 - 1));
      case 4:
        this.skip(5);
        return this.read(b.b4) - (1 << (b.b4 - 1));
      default:
        this.skip(5);
        return NaN;
    }
  }

  /** Skips to the next byte boundary. */
  align(): void {
    this.pos = (this.pos + 7) & ~7;
    if (this.pos > this.end) this.truncated();
  }

  /** The bytes from the current (aligned) position to the end. */
  rest(): Uint8Array {
    return this.buf.slice(this.pos >>> 3, this.end >>> 3);
  }
}
