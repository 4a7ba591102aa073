// Splits a server CPU profile (from `run.ts --cpu-prof DIR`) into where ingest time goes: SQLite commits,
// credential lookups, JSON parse + decode, the broker, HTTP, the bus forward to MQTT applications, metrics, GC.
// Each sample goes to the first category (in the order below) that any frame of its stack matches. Only the
// longest stretch in which the server was busy (>= 80% of each 100 ms bin) counts: the measured scenario, not
// start-up, device creation or the warm-up. Profile one scenario per server (--scenarios, --values).
//
//   node --import tsx bench/ingest/profile-shares.ts DIR/thingstead-*/CPU.*.0.001.cpuprofile
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

type Test = (fn: string, url: string) => boolean;
const CATEGORIES: [string, Test][] = [
  ['SQLite: telemetry append transaction (group commit)', (fn) => fn === 'sqliteTransaction'],
  [
    'bus: forward committed telemetry to MQTT apps (groupByTs, JSON.stringify, broker.publish)',
    (fn, url) => url.includes('in-process-bus') || fn === 'groupByTs',
  ],
  ['SQLite: device/credential lookups and other statements (incl. prepare)', (fn, url) => url.includes('storage/sqlite/') || url.includes('better-sqlite3')],
  [
    'JSON parse + telemetry decode/validate',
    (fn, url) => fn === 'parseJsonPayload' || url.includes('telemetry/decode') || url.includes('secure-json-parse') || url.includes('content-type-parser'),
  ],
  ['metrics (prom-client)', (_fn, url) => url.includes('prom-client')],
  ['core: ingest, group commit bookkeeping, connectivity', (_fn, url) => url.includes('packages/core/')],
  ['broker: MQTT framing, publish pipeline, writes', (_fn, url) => url.includes('packages/broker/')],
  [
    'HTTP: fastify + node:http (incl. Ajv, routing, replies)',
    (_fn, url) =>
      url.includes('fastify') ||
      url.includes('node:_http') ||
      url.includes('node:http') ||
      url.includes('/ajv/') ||
      url.includes('find-my-way') ||
      url.includes('http/'),
  ],
  ['module loading / start-up', (_fn, url) => url.includes('internal/modules') || url.includes('source_map') || url.includes('cjs-module-lexer')],
  ['transport glue (mqtt-transport.ts)', (_fn, url) => url.includes('transports/mqtt')],
  [
    'socket I/O (writev, reads)',
    (fn, url) =>
      fn === 'writev' ||
      fn === 'writeBuffer' ||
      fn === 'writeUtf8String' ||
      url.includes('stream_base_commons') ||
      url.includes('internal/streams') ||
      url.includes('node:net'),
  ],
];

for (const file of process.argv.slice(2)) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const memo = new Map<number, string>();
  const categoryOf = (id: number): string => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame.functionName;
    let cat = leaf === '(idle)' ? 'idle' : leaf === '(garbage collector)' ? 'GC' : leaf === '(program)' ? 'V8/native (program)' : '';
    if (cat === '') {
      const stack: ProfileNode[] = [];
      for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) stack.push(byId.get(x)!);
      cat = CATEGORIES.find(([, test]) => stack.some((n) => test(n.callFrame.functionName, n.callFrame.url)))?.[0] ?? 'other';
    }
    memo.set(id, cat);
    return cat;
  };
  // Sample times, 100 ms bins, and the longest run of busy bins.
  const at: number[] = [];
  let t = 0;
  for (const dt of p.timeDeltas) at.push((t += dt));
  const BIN = 100_000;
  const bins = new Map<number, { busy: number; all: number }>();
  p.samples.forEach((id, i) => {
    const b = Math.floor(at[i]! / BIN);
    const x = bins.get(b) ?? { busy: 0, all: 0 };
    x.all += p.timeDeltas[i] ?? 0;
    if (categoryOf(id) !== 'idle') x.busy += p.timeDeltas[i] ?? 0;
    bins.set(b, x);
  });
  let best = [0, -1];
  let start = -1;
  const last = Math.floor(t / BIN);
  for (let b = 0; b <= last + 1; b++) {
    const x = bins.get(b);
    const busyBin = x !== undefined && x.busy >= 0.8 * BIN;
    if (busyBin && start < 0) start = b;
    if (!busyBin && start >= 0) {
      if (b - start > best[1]! - best[0]! + 1) best = [start, b - 1];
      start = -1;
    }
  }
  const [from, to] = [best[0]! * BIN, (best[1]! + 1) * BIN];
  const totals = new Map<string, number>();
  let busy = 0;
  p.samples.forEach((id, i) => {
    if (at[i]! < from || at[i]! >= to) return;
    const dt = p.timeDeltas[i] ?? 0;
    const cat = categoryOf(id);
    totals.set(cat, (totals.get(cat) ?? 0) + dt);
    if (cat !== 'idle') busy += dt;
  });
  console.log(
    `# ${file}\nbusy window ${(from / 1e6).toFixed(1)}-${(to / 1e6).toFixed(1)} s of ${(t / 1e6).toFixed(1)} s; busy ${(busy / 1e6).toFixed(2)} s\n` +
      '| where | share of busy CPU |\n|---|--:|',
  );
  for (const [cat, us] of [...totals].filter(([c]) => c !== 'idle').sort((a, b) => b[1] - a[1])) console.log(`| ${cat} | ${((us / busy) * 100).toFixed(1)}% |`);
}
