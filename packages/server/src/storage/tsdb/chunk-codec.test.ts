import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TelemetryValue } from '@thingstead/core';
import { ChunkCodecError, chunkCount, decodeChunk, encodeChunk } from './chunk-codec';
import { mulberry32 } from '@thingstead/core/testing';

const T0 = 1_767_225_600_000; // 2026-01-01
const MAX = Number.MAX_SAFE_INTEGER;

const rand = mulberry32(7);
const regular = (n: number, stepMs = 15_000, start = T0): number[] => Array.from({ length: n }, (_, i) => start + i * stepMs);
const jittered = (n: number): number[] => Array.from({ length: n }, (_, i) => T0 + i * 15_000 + Math.floor(rand() * 8));
const walk = (n: number, start = 2301, e = 10): number[] => {
  let m = start;
  return Array.from({ length: n }, () => (m += Math.round((rand() - 0.5) * 6)) / e);
};
const f64 = new DataView(new ArrayBuffer(8));
/** Random bit patterns, keeping the finite ones. */
const randomBits = (n: number): number[] => {
  const out: number[] = [];
  while (out.length < n) {
    f64.setUint32(0, (rand() * 2 ** 32) >>> 0);
    f64.setUint32(4, (rand() * 2 ** 32) >>> 0);
    const v = f64.getFloat64(0);
    if (Number.isFinite(v)) out.push(v);
  }
  return out;
};

function roundTrip(ts: number[], values: TelemetryValue[]): Uint8Array {
  const data = encodeChunk(ts, values);
  const back = decodeChunk(data);
  assert.deepStrictEqual(back.ts, ts);
  assert.equal(back.values.length, values.length);
  // deepStrictEqual compares with Object.is: -0 and 0 differ, as do 1 and true.
  assert.deepStrictEqual(back.values, values);
  assert.equal(chunkCount(data), ts.length);
  return data;
}

const kindOf = (data: Uint8Array): number => (data[0] ?? 0) & 15;
const XOR = 1;
const DECIMAL = 2;

describe('numbers round-trip bit-exactly', () => {
  const cases: [string, number[]][] = [
    ['constant', new Array<number>(240).fill(21.5)],
    ['1-decimal sensor noise', walk(240)],
    ['3-decimal values', walk(240, 12_345, 1000)],
    ['random doubles', Array.from({ length: 240 }, () => rand() * 1e6)],
    ['random finite bit patterns', randomBits(1000)],
    ['integers', Array.from({ length: 240 }, (_, i) => i * 7 - 500)],
    ['large safe integers', Array.from({ length: 240 }, (_, i) => (i % 2 === 0 ? MAX - i : -MAX + i))],
    ['-0 and 0', [0, -0, 0, -0, -0, 1, -0]],
    ['extremes', [Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -Number.MIN_VALUE, 0, 1e-300, 1e300, 2 ** -1074, 0.1, 0.2]],
    ['a tiny exponent mix', [0.000001, 0.000002, 123456.123456, -0.5, 0.25]],
    ['non-finite', [Infinity, -Infinity, NaN, 1]],
  ];
  for (const [name, values] of cases) {
    it(name, () => {
      roundTrip(regular(values.length), values);
      roundTrip(jittered(values.length), values);
    });
  }
  it('one point, two points, 1000 points', () => {
    roundTrip([T0], [230.1]);
    roundTrip([0], [-0]);
    roundTrip([T0, T0 + 1], [1.5, -2]);
    roundTrip(jittered(1000), walk(1000));
  });
});

describe('timestamps round-trip exactly', () => {
  const values = (n: number): number[] => new Array<number>(n).fill(1);
  const cases: [string, number[]][] = [
    ['regular: delta of delta 0', regular(240)],
    ['irregular ms jitter', jittered(240)],
    ['every millisecond', regular(240, 1)],
    ['gaps of years', [0, 1, 3 * 365 * 86_400_000, 3 * 365 * 86_400_000 + 5, 40 * 365 * 86_400_000, T0, T0 + 1000]],
    ['ts 0 and 2^53 - 1', [0, MAX]],
    ['near 2^53 - 1', [MAX - 1000, MAX - 999, MAX - 3, MAX - 2, MAX]],
    ['gap of 2^53 - 2 after a small one', [0, 1, MAX]],
    ['shrinking and growing gaps', [10, 20_000_000, 20_000_001, 2 ** 40, 2 ** 40 + 2 ** 30, 2 ** 41, 2 ** 41 + 1]],
    [
      'random gaps',
      (() => {
        let t = 0;
        return Array.from({ length: 500 }, () => (t += 1 + Math.floor(rand() ** 6 * 2 ** 45)));
      })(),
    ],
  ];
  for (const [name, ts] of cases)
    it(name, () => {
      roundTrip(ts, values(ts.length));
    });
});

describe('other values round-trip with their types', () => {
  const cases: [string, TelemetryValue[]][] = [
    ['strings with unicode', ['ok', '', 'Grüße', '温度', '🌡️ 21 °C', '"quoted"\n\\', 'a'.repeat(1000)]],
    ['booleans', Array.from({ length: 240 }, (_, i) => i % 3 === 0)],
    ['one boolean', [false]],
    ['objects', [{ lat: 52.5, lon: 13.4 }, { nested: { a: [1, 2, { b: null }] } }, {}]],
    ['arrays', [[1, 2, 3], [], ['x', true, { y: -1.5 }]]],
    ['numbers mixed with strings', [1, 'one', 2.5, 'two', -0, 3]],
    ['numbers mixed with booleans', [1, true, 0, false]],
    ['everything', [1, 'a', true, { k: 'v' }, [1], -0, 1e-300, Number.MAX_VALUE]],
  ];
  for (const [name, values] of cases)
    it(name, () => {
      roundTrip(jittered(values.length), values);
    });

  it('rejects what is no TelemetryValue, and what a mixed chunk cannot store', () => {
    assert.throws(() => encodeChunk([1], [null as unknown as TelemetryValue]), ChunkCodecError);
    assert.throws(() => encodeChunk([1, 2], ['a', undefined as unknown as TelemetryValue]), ChunkCodecError);
    assert.throws(() => encodeChunk([1, 2], ['a', Infinity]), /finite/);
  });
});

describe('input checks of encodeChunk', () => {
  it('needs as many values as timestamps, at least one', () => {
    assert.throws(() => encodeChunk([], []), ChunkCodecError);
    assert.throws(() => encodeChunk([1, 2], [1]), ChunkCodecError);
  });
  it('needs strictly ascending safe integers >= 0', () => {
    for (const ts of [[-1], [1.5], [MAX + 1], [NaN], [5, 5], [5, 4], [1, 2 ** 53]]) {
      assert.throws(
        () =>
          encodeChunk(
            ts,
            ts.map(() => 1),
          ),
        ChunkCodecError,
        String(ts),
      );
    }
  });
});

describe('size', () => {
  it('picks decimal mode for 1-decimal data, under 2 bytes a value, smaller than XOR', () => {
    const values = walk(240);
    const data = roundTrip(regular(240), values);
    assert.equal(kindOf(data), DECIMAL);
    assert.ok(data.length < 2 * 240, `${data.length} bytes`);
    // Values with one bit pattern of noise cannot be decimal: the same walk with 1e-9 added takes XOR.
    const xor = roundTrip(
      regular(240),
      values.map((v) => v + 1e-9),
    );
    assert.equal(kindOf(xor), XOR);
    assert.ok(data.length * 2 < xor.length, `decimal ${data.length} bytes, XOR ${xor.length}`);
  });
  it('keeps XOR where it is smaller, for random doubles', () => {
    assert.equal(kindOf(roundTrip(regular(240), randomBits(240))), XOR);
  });
  it('stores -0 with XOR, which keeps the sign', () => {
    assert.equal(kindOf(roundTrip(regular(3), [1, -0, 2])), XOR);
  });
  it('constant values at a regular interval take under 0.5 byte a point', () => {
    for (const v of [21.5, 0, 230.1, 1e6]) {
      const data = roundTrip(regular(240), new Array<number>(240).fill(v));
      assert.ok(data.length < 120, `${v}: ${data.length} bytes`);
    }
  });
  it('a counter takes the slope predictor: a few bits a point', () => {
    const data = roundTrip(
      regular(240),
      Array.from({ length: 240 }, (_, i) => 1000 + i * 3),
    );
    assert.ok(data.length < 0.5 * 240, `${data.length} bytes`);
  });
  it('booleans take a bit each (with a bit per regular timestamp)', () => {
    const data = roundTrip(
      regular(240),
      Array.from({ length: 240 }, () => rand() < 0.5),
    );
    assert.ok(data.length < (2 * 240) / 8 + 16, `${data.length} bytes`);
  });
});

describe('corrupt input', () => {
  const sample = (): Uint8Array[] => [
    encodeChunk(jittered(240), walk(240)),
    encodeChunk(jittered(100), randomBits(100)),
    encodeChunk([0, 1, MAX], [1, 2, 3]),
    encodeChunk(
      jittered(50),
      Array.from({ length: 50 }, (_, i) => i % 2 === 0),
    ),
    encodeChunk(jittered(20), ['a', 1, { b: [true] }, ...new Array<string>(17).fill('x')]),
    encodeChunk([T0], [42]),
  ];

  it('an empty buffer, a wrong version or kind byte, absurd counts', () => {
    const good = encodeChunk(regular(10), walk(10));
    assert.throws(() => decodeChunk(new Uint8Array(0)), /empty/);
    assert.throws(() => chunkCount(new Uint8Array(0)), /empty/);
    for (const kind of [0x00, 0x21, 0xf1, 0x10, 0x15, 0x1f]) {
      const bad = good.slice();
      bad[0] = kind;
      assert.throws(() => decodeChunk(bad), ChunkCodecError, `kind 0x${kind.toString(16)}`);
      assert.throws(() => chunkCount(bad), ChunkCodecError, `kind 0x${kind.toString(16)}`);
    }
    for (const count of [[0x00], [0xff, 0xff, 0xff, 0x7f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]]) {
      const bad = new Uint8Array([0x11, ...count, 1, 2, 3, 4, 5, 6, 7, 8]);
      assert.throws(() => decodeChunk(bad), ChunkCodecError);
      assert.throws(() => chunkCount(bad), ChunkCodecError);
    }
  });

  it('every truncation throws', () => {
    for (const data of sample()) {
      for (let len = 0; len < data.length; len++) assert.throws(() => decodeChunk(data.subarray(0, len)), ChunkCodecError, `length ${len} of ${data.length}`);
    }
  });

  it('a byte appended throws', () => {
    for (const data of sample()) assert.throws(() => decodeChunk(new Uint8Array([...data, 0])), ChunkCodecError);
  });

  it('fuzz: bit flips and truncations either throw a ChunkCodecError or give the stated count', () => {
    const fuzz = mulberry32(2026);
    const samples = sample();
    let threw = 0;
    for (let round = 0; round < 5000; round++) {
      const base = samples[round % samples.length]!;
      const bad = base.slice(0, fuzz() < 0.3 ? Math.floor(fuzz() * base.length) : base.length);
      const flips = 1 + Math.floor(fuzz() * 4);
      for (let f = 0; f < flips && bad.length > 0; f++) bad[Math.floor(fuzz() * bad.length)]! ^= 1 << Math.floor(fuzz() * 8);
      try {
        const out = decodeChunk(bad);
        const count = chunkCount(bad);
        assert.equal(out.ts.length, count);
        assert.equal(out.values.length, count);
        for (let i = 1; i < count; i++) assert.ok(out.ts[i]! > out.ts[i - 1]! && out.ts[i]! <= MAX);
      } catch (err) {
        if (!(err instanceof ChunkCodecError)) throw err;
        threw++;
      }
    }
    assert.ok(threw > 0);
  });
});
