/**
 * The long, on-demand run of the HTTP fuzzer (tests/fuzz/http-fuzz.ts) for a given time, printing figures.
 *
 *   node --import tsx tests/fuzz/run-http.ts                       # 10 min against a server started here
 *   node --import tsx tests/fuzz/run-http.ts --duration-sec 60 --seed 7
 *   node --import tsx tests/fuzz/run-http.ts --url http://host:8080 --token tsk_... [--duration-sec 600]
 *   node --import tsx tests/fuzz/run-http.ts --url http://host:8080 --email a@b.c --password ...
 *
 * Started here, the server runs in this process (a real server on a free port with a temporary data directory,
 * as in the e2e tests) and the heap is measured after garbage collection; against --url, memory is the
 * server's resident set from its /metrics. Runs in rounds of --round cases (default 2,000), each round with
 * its own seed (seed + round) and fuzz device; exits 1 when a problem was found, printing each with the
 * (seed, case) that replays it: --seed S --case I runs that one case and prints what was sent and answered.
 */
import { setFlagsFromString } from 'node:v8';
import { parseArgs } from 'node:util';
import { runInNewContext } from 'node:vm';
import { fuzzHttp, type HttpFuzzReport } from './http-fuzz';

const { values: args } = parseArgs({
  options: {
    url: { type: 'string' },
    token: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    'duration-sec': { type: 'string', default: '600' },
    seed: { type: 'string' },
    round: { type: 'string', default: '2000' },
    case: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log(
    'usage: node --import tsx tests/fuzz/run-http.ts [--url URL (--token T | --email E --password P)] [--duration-sec 600] [--seed N] [--round 2000]',
  );
  console.log('       node --import tsx tests/fuzz/run-http.ts --seed N --case I   replays case I of seed N (as reported) and prints it');
  process.exit(0);
}

const durationMs = Number(args['duration-sec']) * 1000;
const seed = args.seed === undefined ? Date.now() % 1_000_000_007 : Number(args.seed);
const round = Number(args.round);

let baseUrl: string;
let token: string;
let stop = async () => undefined as unknown;
let memory: () => Promise<number | undefined>;

if (args.url === undefined) {
  const { startHarness } = await import('../e2e/harness');
  const h = await startHarness();
  baseUrl = h.url;
  token = await h.login();
  stop = () => h.stop();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  memory = async () => {
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    return process.memoryUsage().heapUsed;
  };
} else {
  baseUrl = args.url.replace(/\/$/, '');
  if (args.token !== undefined) token = args.token;
  else {
    const res = await fetch(`${baseUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: args.email, password: args.password }),
    });
    if (!res.ok) throw new Error(`login failed: ${res.status} ${await res.text()}`);
    token = ((await res.json()) as { token: string }).token;
  }
  memory = async () => {
    const text = await fetch(`${baseUrl}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const m = /^thingstead_process_resident_memory_bytes (\d+(\.\d+)?(e\+\d+)?)$/m.exec(text);
    return m ? Number(m[1]) : undefined;
  };
}

const mib = (n: number | undefined) => (n === undefined ? 'n/a' : `${(n / 1_048_576).toFixed(1)} MiB`);
const total: HttpFuzzReport = { iterations: 0, answers: {}, refusals: {}, readBacks: 0, problems: [] };
const add = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

if (args.case !== undefined) {
  const replay = await fuzzHttp({
    baseUrl,
    token,
    iterations: 1,
    seed,
    firstCase: Number(args.case),
    log: (line) => {
      console.log(line);
    },
  });
  for (const p of replay.problems) console.log(`problem: ${p}`);
  await stop();
  process.exit(replay.problems.length > 0 ? 1 : 0);
}

const what = args.url === undefined ? 'heap after gc' : 'server RSS';
const startedAt = Date.now();
const memStart = await memory();
console.log(`HTTP fuzz against ${baseUrl}, seed ${seed}, ${durationMs / 1000} s, rounds of ${round}; ${what} at start ${mib(memStart)}`);
let memLast = memStart;
for (let r = 0; Date.now() - startedAt < durationMs && total.problems.length < 50; r++) {
  const report = await fuzzHttp({ baseUrl, token, iterations: round, seed: seed + r });
  total.iterations += report.iterations;
  total.readBacks += report.readBacks;
  total.problems.push(...report.problems);
  add(total.answers, report.answers);
  add(total.refusals, report.refusals);
  memLast = await memory();
  const s = (Date.now() - startedAt) / 1000;
  console.log(
    `${s.toFixed(0).padStart(5)} s  ${String(total.iterations).padStart(8)} cases  ${(total.iterations / s).toFixed(0).padStart(5)}/s  ${total.problems.length} problems  ${what} ${mib(memLast)}`,
  );
}
const seconds = (Date.now() - startedAt) / 1000;
console.log(`\n${total.iterations} cases in ${seconds.toFixed(0)} s (${(total.iterations / seconds).toFixed(0)}/s), ${total.readBacks} read-backs`);
console.log(`${what}: ${mib(memStart)} at start, ${mib(memLast)} at the end`);
console.log('answers:', JSON.stringify(total.answers));
console.log('refusals:', JSON.stringify(total.refusals));
if (total.problems.length > 0) {
  console.log(`\n${total.problems.length} problems:`);
  for (const p of total.problems) console.log(`  ${p}`);
}
await stop();
process.exit(total.problems.length > 0 ? 1 : 0);
