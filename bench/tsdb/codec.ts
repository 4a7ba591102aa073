// Bytes per point and encode/decode time per point of the chunk codec (packages/server/src/storage/tsdb),
// for 240-point chunks (one hour at 15 s). Medians of 5 runs. Prints only; run with
//   node --import tsx bench/tsdb/codec.ts
import { decodeChunk, encodeChunk } from '../../packages/server/src/storage/tsdb/chunk-codec';
import { mulberry32 } from '@thingstead/core/testing';

const POINTS = 240;
const CHUNKS = 400;
const RUNS = 5;
const WARMUP_RUNS = 10;
const START = 1_767_225_600_000;

type Series = { ts: number[]; values: number[] };

function regular(): number[] {
  return Array.from({ length: POINTS }, (_, i) => START + i * 15_000);
}

/** Server stamps: a device reporting every 15 s, arriving 0..9 ms late. */
function serverStamped(rand: () => number): number[] {
  return Array.from({ length: POINTS }, (_, i) => START + i * 15_000 + Math.floor(rand() * 10));
}

const valueKinds: Record<string, (rand: () => number) => number[]> = {
  constant: () => new Array<number>(POINTS).fill(21.5),
  'voltage 230.1±0.3': (rand) => {
    let m = 2301;
    return Array.from({ length: POINTS }, () => (m += Math.round((rand() - 0.5) * 6)) / 10);
  },
  'random doubles': (rand) => Array.from({ length: POINTS }, () => rand() * 1e6),
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function measure(make: (rand: () => number) => Series): { bytes: number; encodeNs: number; decodeNs: number } {
  const rand = mulberry32(42);
  const chunks = Array.from({ length: CHUNKS }, () => make(rand));
  const encoded = chunks.map((c) => encodeChunk(c.ts, c.values));
  const bytes = encoded.reduce((n, b) => n + b.length, 0) / (CHUNKS * POINTS);
  const enc: number[] = [];
  const dec: number[] = [];
  // Unmeasured passes first, so each row is timed with optimized code for its own data.
  for (let run = -WARMUP_RUNS; run < RUNS; run++) {
    let t = process.hrtime.bigint();
    for (const c of chunks) encodeChunk(c.ts, c.values);
    const encodeNs = Number(process.hrtime.bigint() - t) / (CHUNKS * POINTS);
    t = process.hrtime.bigint();
    for (const b of encoded) decodeChunk(b);
    const decodeNs = Number(process.hrtime.bigint() - t) / (CHUNKS * POINTS);
    if (run < 0) continue;
    enc.push(encodeNs);
    dec.push(decodeNs);
  }
  return { bytes, encodeNs: median(enc), decodeNs: median(dec) };
}

console.log(`chunk codec, ${POINTS}-point chunks x ${CHUNKS}, median of ${RUNS} runs`);
console.log(['values', 'timestamps', 'bytes/point', 'encode ns/point', 'decode ns/point'].join(' | '));
for (const [name, values] of Object.entries(valueKinds)) {
  for (const [tsName, stamps] of [
    ['regular 15 s', regular],
    ['server-stamped', serverStamped],
  ] as const) {
    const r = measure((rand) => ({ ts: stamps(rand), values: values(rand) }));
    console.log([name, tsName, r.bytes.toFixed(2), r.encodeNs.toFixed(1), r.decodeNs.toFixed(1)].join(' | '));
  }
}
