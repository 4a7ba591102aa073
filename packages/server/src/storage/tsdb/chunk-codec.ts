/**
 * The chunk codec of the time-series store: one chunk holds the points of one series, compressed in the manner
 * of Facebook's Gorilla (Pelkonen et al., VLDB 2015, §4.1) and Prometheus' XOR chunks, adapted to millisecond
 * timestamps and with a decimal mode for sensor readings.
 *
 * Layout (bits, most significant first; see bits.ts):
 *   kind      8 bits: version 1 in the high nibble, the value encoding in the low one (KIND_*)
 *   count     varint (LEB128), >= 1
 *   ts[0]     varint; then, when count >= 2, ts[1] - ts[0] as a varint
 *   ts[2..]   delta of delta in ms buckets: '0' = 0, '10' + 5 bits, '110' + 9, '1110' + 14, '11110' + 22
 *             (offset binary), '11111' + the delta itself in 53 bits (any gap up to 2^53 - 1)
 *   values    XOR:     64-bit first value, then Gorilla §4.1.2: '0' same, '10' + bits in the previous window,
 *                      '11' + 5 bits leading zeros + 6 bits length (0 = 64) + the bits
 *             DECIMAL: 3 bits exponent e, 1 bit predictor k; value = mantissa / 10^e; per value the mantissa's
 *                      residual against the previous one (k = 0) or the previous slope (k = 1) in buckets
 *                      '0', '10' + 4, '110' + 8, '1110' + 13, '11110' + 22, '11111' + sign + 53-bit mantissa
 *             BOOL:    one bit per value
 *             JSON:    zero bits to a byte boundary, then the UTF-8 JSON text of the values array (a top-level
 *                      -0 is written as -0; inside an object or array it reads back as 0, as JSON has it)
 * An all-number chunk takes DECIMAL when every value has at most 6 decimals and that is smaller than XOR.
 *   padding   zero bits to the byte boundary; a decoder rejects any byte after it.
 */
import type { TelemetryValue } from '@thingstead/core';
import type { Buckets } from './bits';
import { BitReader, BitWriter, ChunkCodecError } from './bits';

export { ChunkCodecError } from './bits';

const VERSION = 1;
const KIND_XOR = 1;
const KIND_DECIMAL = 2;
const KIND_BOOL = 3;
const KIND_JSON = 4;
const MAX_TS = Number.MAX_SAFE_INTEGER;
const MAX_EXPONENT = 6;

// Server stamps jitter by a few ms (the 5-bit bucket holds ±16 ms), device stamps are regular (dod 0); 22 bits
// hold a change of interval up to ±35 minutes, and anything larger takes the 53-bit delta.
const TS_BUCKETS: Buckets = { b1: 5, b2: 9, b3: 14, b4: 22 };
// 1-decimal sensor noise moves the mantissa by a few units per point.
const VALUE_BUCKETS: Buckets = { b1: 4, b2: 8, b3: 13, b4: 22 };

const writer = new BitWriter();
const reader = new BitReader();
const f64 = new DataView(new ArrayBuffer(8));
let mantissas = new Float64Array(256);

/** Bits writeBucket would use; `escape` is the size of what follows the escape prefix. */
function bucketCost(v: number, b: Buckets, escape: number): number {
  if (v === 0) return 1;
  if (v >= -(1 << (b.b1 - 1)) && v < 1 << (b.b1 - 1)) return b.b1 + 2;
  if (v >= -(1 << (b.b2 - 1)) && v < 1 << (b.b2 - 1)) return b.b2 + 3;
  if (v >= -(1 << (b.b3 - 1)) && v < 1 << (b.b3 - 1)) return b.b3 + 4;
  if (v >= -(1 << (b.b4 - 1)) && v < 1 << (b.b4 - 1)) return b.b4 + 5;
  return 5 + escape;
}

function corrupt(what: string): never {
  throw new ChunkCodecError(`chunk is corrupt: ${what}`);
}

function writeTimestamps(w: BitWriter, ts: readonly number[]): void {
  let prev = ts[0] ?? NaN;
  if (!Number.isSafeInteger(prev) || prev < 0) throw new ChunkCodecError(`ts[0] must be a safe integer >= 0, got ${prev}`);
  w.writeVarint(prev);
  let prevDelta = 0;
  for (let i = 1; i < ts.length; i++) {
    const t = ts[i] ?? NaN;
    if (!Number.isSafeInteger(t) || t <= prev) throw new ChunkCodecError(`ts must be strictly ascending safe integers: ts[${i}] = ${t} after ${prev}`);
    const delta = t - prev;
    w.reserve(16);
    if (i === 1) w.writeVarint(delta);
    else if (!w.writeBucket(delta - prevDelta, TS_BUCKETS)) w.writeWide(delta, 53);
    prevDelta = delta;
    prev = t;
  }
}

function readTimestamps(r: BitReader, count: number): number[] {
  const out = new Array<number>(count);
  let t = r.readVarint('first timestamp');
  out[0] = t;
  let delta = 0;
  for (let i = 1; i < count; i++) {
    if (i === 1) delta = r.readVarint('first delta');
    else {
      const dod = r.readBucket(TS_BUCKETS);
      delta = dod === dod ? delta + dod : r.readWide(53);
    }
    if (delta < 1 || delta > MAX_TS - t) corrupt(`timestamp ${i} is not above the previous one or beyond 2^53 - 1`);
    t += delta;
    out[i] = t;
  }
  return out;
}

function ctz32(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Writes the values XOR-encoded; stops and returns false once the writer passes bit `limit`. */
function writeXor(w: BitWriter, values: readonly number[], limit: number): boolean {
  f64.setFloat64(0, values[0] ?? NaN);
  let prevHi = f64.getUint32(0);
  let prevLo = f64.getUint32(4);
  w.write(prevHi, 32);
  w.write(prevLo, 32);
  let lead = -1; // no window yet
  let trail = 0;
  for (let i = 1; i < values.length; i++) {
    f64.setFloat64(0, values[i] ?? NaN);
    const hi = f64.getUint32(0);
    const lo = f64.getUint32(4);
    const xh = hi ^ prevHi;
    const xl = lo ^ prevLo;
    prevHi = hi;
    prevLo = lo;
    w.reserve(16);
    if (w.bitLength > limit) return false;
    if ((xh | xl) === 0) {
      w.write(0, 1);
      continue;
    }
    const l = Math.min(31, xh !== 0 ? Math.clz32(xh) : 32 + Math.clz32(xl));
    const t = xl !== 0 ? ctz32(xl) : 32 + ctz32(xh);
    if (lead >= 0 && l >= lead && t >= trail) {
      w.write(0b10, 2);
      w.writeWindow(xh, xl, trail, 64 - lead - trail);
    } else {
      const len = 64 - l - t;
      w.write((0b11 << 11) | (l << 6) | (len & 63), 13);
      w.writeWindow(xh, xl, t, len);
      lead = l;
      trail = t;
    }
  }
  return w.bitLength <= limit;
}

function readXor(r: BitReader, count: number, out: number[]): void {
  let hi = r.read(32);
  let lo = r.read(32);
  f64.setUint32(0, hi);
  f64.setUint32(4, lo);
  let v = f64.getFloat64(0);
  out[0] = v;
  let lead = -1;
  let trail = 0;
  for (let i = 1; i < count; i++) {
    if (r.readBit() === 1) {
      if (r.readBit() === 1) {
        const c = r.read(11);
        lead = c >>> 6;
        trail = 64 - lead - (c & 63 || 64);
        if (trail < 0) corrupt(`value ${i} has a window past 64 bits`);
      } else if (lead < 0) corrupt(`value ${i} reuses a window before one was set`);
      const len = 64 - lead - trail;
      const mh = len > 32 ? r.read(len - 32) : 0;
      const ml = r.read(len > 32 ? 32 : len);
      if (trail === 0) {
        hi ^= mh;
        lo ^= ml;
      } else if (trail < 32) {
        hi ^= (mh << trail) | (ml >>> (32 - trail));
        lo ^= ml << trail;
      } else hi ^= ml << (trail - 32);
      f64.setUint32(0, hi);
      f64.setUint32(4, lo);
      v = f64.getFloat64(0);
    }
    out[i] = v;
  }
}

/**
 * The smallest exponent e <= 6 with Math.round(v * 10^e) / 10^e === v for every value, leaving the mantissas in
 * `mantissas`; -1 when there is none, or when a value is -0, whose sign a mantissa cannot carry.
 */
function decimalExponent(values: readonly number[]): number {
  const n = values.length;
  if (mantissas.length < n) mantissas = new Float64Array(n * 2);
  let e = 0;
  let p = 1;
  let raisedAt = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? NaN;
    if (v === 0 && 1 / v < 0) return -1;
    let m = Math.round(v * p);
    while (m / p !== v || !(Math.abs(m) <= MAX_TS)) {
      if (++e > MAX_EXPONENT) return -1;
      p *= 10;
      m = Math.round(v * p);
      raisedAt = i;
    }
    mantissas[i] = m;
  }
  // The values before the last raise were checked with a smaller exponent; check them with the final one.
  for (let to = raisedAt; ; to = n) {
    let ok = true;
    for (let i = 0; i < to && ok; i++) {
      const v = values[i] ?? NaN;
      const m = Math.round(v * p);
      ok = m / p === v && Math.abs(m) <= MAX_TS;
      mantissas[i] = m;
    }
    if (ok) return e;
    if (++e > MAX_EXPONENT) return -1;
    p *= 10;
  }
}

const MANTISSA_ESCAPE = 54; // sign + 53 bits

/** Bits of the residual stream with predictor k (0: previous value, 1: previous value plus previous slope). */
function decimalCost(n: number, k: number): number {
  let bits = 4;
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const m = mantissas[i] ?? 0;
    bits += bucketCost(m - (k === 1 ? m1 + (m1 - m2) : m1), VALUE_BUCKETS, MANTISSA_ESCAPE);
    m2 = i === 0 ? m : m1;
    m1 = m;
  }
  return bits;
}

// With safe-integer mantissas, a residual small enough for a bucket is exact, and so is pred + residual on decode.
function writeDecimal(w: BitWriter, n: number, e: number, k: number): void {
  w.write((e << 1) | k, 4);
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const m = mantissas[i] ?? 0;
    w.reserve(16);
    if (!w.writeBucket(m - (k === 1 ? m1 + (m1 - m2) : m1), VALUE_BUCKETS)) {
      w.write(m < 0 ? 1 : 0, 1);
      w.writeWide(Math.abs(m), 53);
    }
    m2 = i === 0 ? m : m1;
    m1 = m;
  }
}

function readDecimal(r: BitReader, count: number, out: number[]): void {
  const head = r.read(4);
  const e = head >>> 1;
  const k = head & 1;
  if (e > MAX_EXPONENT) corrupt(`decimal exponent ${e} is above ${MAX_EXPONENT}`);
  let p = 1;
  for (let i = 0; i < e; i++) p *= 10;
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < count; i++) {
    const res = r.readBucket(VALUE_BUCKETS);
    let m: number;
    if (res === res) m = (k === 1 ? m1 + (m1 - m2) : m1) + res;
    else {
      const negative = r.readBit() === 1;
      m = r.readWide(53);
      if (negative) m = -m;
    }
    if (!(Math.abs(m) <= MAX_TS)) corrupt(`mantissa of value ${i} is beyond 2^53 - 1`);
    out[i] = m / p;
    m2 = i === 0 ? m : m1;
    m1 = m;
  }
}

/** JSON of the values array; a top-level -0 is written as -0, which JSON.parse reads back as -0. */
function valuesJson(values: readonly TelemetryValue[]): string {
  const parts: string[] = [];
  for (const v of values) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw new ChunkCodecError(`a number in a mixed chunk must be finite, got ${v}`);
    parts.push(typeof v === 'number' && v === 0 && 1 / v < 0 ? '-0' : JSON.stringify(v));
  }
  return `[${parts.join(',')}]`;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function readJson(r: BitReader, count: number): TelemetryValue[] {
  r.align();
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decoder.decode(r.rest()));
  } catch (cause) {
    throw new ChunkCodecError('chunk is corrupt: the values are not valid UTF-8 JSON', { cause });
  }
  if (!Array.isArray(parsed) || parsed.length !== count) corrupt(`the values are not a JSON array of ${count} values`);
  for (const v of parsed as unknown[]) if (v === null) corrupt('a value is null');
  r.skip(r.bitsLeft);
  return parsed as TelemetryValue[];
}

type Shape = 'numbers' | 'booleans' | 'other';

function shapeOf(values: readonly TelemetryValue[]): Shape {
  const n = values.length;
  let i = 0;
  // The common cases first, in one tight loop each.
  if (typeof values[0] === 'number') while (i < n && typeof values[i] === 'number') i++;
  else if (typeof values[0] === 'boolean') while (i < n && typeof values[i] === 'boolean') i++;
  if (i === n) return typeof values[0] === 'number' ? 'numbers' : 'booleans';
  for (const v of values as readonly unknown[]) {
    const t = typeof v;
    if (t !== 'number' && t !== 'boolean' && t !== 'string' && (t !== 'object' || v === null)) {
      throw new ChunkCodecError(`values must be numbers, strings, booleans or JSON objects and arrays, got ${v === null ? 'null' : t}`);
    }
  }
  return 'other';
}

/** Encodes one chunk: ts strictly ascending safe integers (ms since epoch, 0 <= ts <= 2^53-1; gaps may be huge), values any TelemetryValue (number | string | boolean | JSON object | array). ts.length === values.length >= 1. */
export function encodeChunk(ts: readonly number[], values: readonly TelemetryValue[]): Uint8Array {
  const n = ts.length;
  if (n < 1 || values.length !== n) throw new ChunkCodecError(`a chunk needs as many values as timestamps, at least one: got ${n} and ${values.length}`);
  const shape = shapeOf(values);
  const w = writer;
  w.reset();
  w.reserve(32);
  w.write(0, 8); // the kind, set in the output once chosen
  w.writeVarint(n);
  writeTimestamps(w, ts);
  let kind = KIND_JSON;
  if (shape === 'numbers') {
    const nums = values as readonly number[];
    const e = decimalExponent(nums);
    let decimalBits = Infinity;
    let k = 0;
    if (e >= 0) {
      const slope = decimalCost(n, 1);
      decimalBits = decimalCost(n, 0);
      if (slope < decimalBits) {
        k = 1;
        decimalBits = slope;
      }
    }
    // XOR takes 64 bits for the first value and one or more per further value: no trial when decimal is as small.
    // The trial stops as soon as XOR is larger, which for decimal sensor data is within the first few dozen values.
    w.save();
    if (decimalBits > 63 + n && writeXor(w, nums, w.bitLength + decimalBits - 1)) kind = KIND_XOR;
    else {
      w.restore();
      writeDecimal(w, n, e, k);
      kind = KIND_DECIMAL;
    }
  } else if (shape === 'booleans') {
    kind = KIND_BOOL;
    w.reserve(n / 8 + 8);
    for (const v of values) w.write(v === true ? 1 : 0, 1);
  } else {
    w.align();
    w.writeBytes(utf8Encoder.encode(valuesJson(values)));
  }
  const out = w.finish();
  out[0] = (VERSION << 4) | kind;
  return out;
}

function readHeader(kindByte: number | undefined): number {
  if (kindByte === undefined) throw new ChunkCodecError('chunk is empty');
  if (kindByte >>> 4 !== VERSION) throw new ChunkCodecError(`chunk has format version ${kindByte >>> 4}; this codec reads version ${VERSION}`);
  const kind = kindByte & 15;
  if (kind < KIND_XOR || kind > KIND_JSON) corrupt(`unknown value kind ${kind}`);
  return kind;
}

/** A count is absurd when the bytes left cannot hold one bit per point beyond the first two. */
function checkCount(count: number, bitsLeft: number): void {
  if (count < 1 || count > bitsLeft + 2) corrupt(`point count ${count} does not fit ${bitsLeft} bits`);
}

/** Decodes what encodeChunk made; throws a clear Error on a corrupt/truncated buffer (never loops forever or returns garbage lengths). */
export function decodeChunk(data: Uint8Array): { ts: number[]; values: TelemetryValue[] } {
  const r = reader;
  r.reset(data);
  const kind = readHeader(data[0]);
  r.skip(8);
  const count = r.readVarint('point count');
  checkCount(count, r.bitsLeft);
  const ts = readTimestamps(r, count);
  // Sized once: count is at most the bits left plus two (checkCount).
  let values = new Array<TelemetryValue>(count);
  if (kind === KIND_XOR) readXor(r, count, values as number[]);
  else if (kind === KIND_DECIMAL) readDecimal(r, count, values as number[]);
  else if (kind === KIND_BOOL) for (let i = 0; i < count; i++) values[i] = r.readBit() === 1;
  else values = readJson(r, count);
  const left = r.bitsLeft;
  if (left >= 8 || (left > 0 && r.read(left) !== 0)) corrupt('bytes or bits follow the last value');
  return { ts, values };
}

/** Only the count, read from the header without decoding (cheap). */
export function chunkCount(data: Uint8Array): number {
  readHeader(data[0]);
  let count = 0;
  let scale = 1;
  for (let i = 1; i < 9; i++) {
    const b = data[i];
    if (b === undefined) throw new ChunkCodecError('chunk is truncated: the point count is cut off');
    count += (b & 127) * scale;
    if (b < 128) {
      checkCount(count, (data.length - i - 1) * 8);
      return count;
    }
    scale *= 128;
  }
  return corrupt('the point count is not a varint of at most 8 bytes');
}
