// `npm run fuzz [-- --duration-sec 600 --seed 1]`: the long fuzz runs of issue 6, side by side, each in its own
// process against its own server: MQTT over TCP (tests/fuzz/mqtt-fuzz-run.ts) and the HTTP JSON bodies
// (tests/fuzz/run-http.ts). Output lines are prefixed with the run's name; exits non-zero when either run
// found a problem.
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { 'duration-sec': { type: 'string', default: '600' }, seed: { type: 'string', default: '1' } } });
const shared = ['--duration-sec', values['duration-sec'], '--seed', values.seed];
const runs = [
  ['mqtt', 'tests/fuzz/mqtt-fuzz-run.ts'],
  ['http', 'tests/fuzz/run-http.ts'],
];
const root = new URL('..', import.meta.url).pathname;
const results = await Promise.all(
  runs.map(
    ([name, file]) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, ['--import', 'tsx', file, ...shared], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
        for (const stream of [child.stdout, child.stderr]) {
          let buf = '';
          stream.on('data', (d) => {
            buf += d.toString();
            let i;
            while ((i = buf.indexOf('\n')) >= 0) {
              process.stdout.write(`[${name}] ${buf.slice(0, i)}\n`);
              buf = buf.slice(i + 1);
            }
          });
        }
        child.on('exit', (code) => resolve([name, code]));
      }),
  ),
);
for (const [name, code] of results) console.log(`${name} fuzz run: ${code === 0 ? 'ok' : `FAILED (exit ${code})`}`);
process.exit(results.every(([, code]) => code === 0) ? 0 : 1);
