// Summarizes V8 .cpuprofile files (from `run.ts --cpu-prof <dir>`): the hottest functions by self time and
// by total (inclusive) time, in % of all samples.
//
//   node --import tsx bench/broker/profile-summary.ts <file.cpuprofile> [--top 25] [--filter <path part>]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  options: { top: { type: 'string', default: '25' }, filter: { type: 'string' } },
  allowPositionals: true,
});
const top = Number(values.top);
const root = process.cwd();

for (const file of positionals) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const label = (n: ProfileNode): string => {
    const f = n.callFrame;
    // tsx-transpiled files report line 0 for every function; the file name is what helps there.
    const line = f.lineNumber > 0 ? `:${f.lineNumber + 1}` : '';
    const where = f.url === '' ? '' : ` ${relative(root, f.url.replace(/^file:\/\//, ''))}${line}`;
    return `${f.functionName === '' ? '(anonymous)' : f.functionName}${where}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  let idle = 0;
  // Weight each sample by the time until the next one, as DevTools does.
  for (let i = 0; i < p.samples.length; i++) {
    const w = p.timeDeltas[i + 1] ?? 0;
    const node = byId.get(p.samples[i]!);
    if (node === undefined) continue;
    all += w;
    if (node.callFrame.functionName === '(idle)') idle += w;
    const l = label(node);
    self.set(l, (self.get(l) ?? 0) + w);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const nl = label(byId.get(id)!);
      if (seen.has(nl)) continue;
      seen.add(nl);
      total.set(nl, (total.get(nl) ?? 0) + w);
    }
  }
  const busy = all - idle;
  const show = (title: string, m: Map<string, number>): void => {
    console.log(`\n${title} (% of busy time ${(busy / 1e6).toFixed(2)} s; idle ${((idle / all) * 100).toFixed(1)}% of ${(all / 1e6).toFixed(2)} s)`);
    const rows = [...m.entries()]
      .filter(([l]) => !l.startsWith('(idle)') && !l.startsWith('(root)') && (values.filter === undefined || l.includes(values.filter)))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top);
    for (const [l, w] of rows) console.log(`${((w / busy) * 100).toFixed(1).padStart(6)}%  ${l}`);
  };
  console.log(`# ${file}`);
  show('self time', self);
  show('total time', total);
}
