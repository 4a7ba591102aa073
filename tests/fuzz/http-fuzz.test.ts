import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { startHarness, type Harness } from '../e2e/harness';
import { fuzzHttp } from './http-fuzz';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
};

/**
 * The bounded run of the HTTP fuzzer inside `npm test` (issue 6: "Add fuzzing of the HTTP device API bodies"),
 * against a real server over real sockets. A longer run: node --import tsx tests/fuzz/run-http.ts --help.
 */
describe('HTTP body fuzzing (bounded, seeded)', () => {
  let h: Harness;
  let token: string;
  before(async () => {
    h = await startHarness();
    token = await h.login();
  });
  after(() => h.stop());

  test('no 5xx, only 2xx or the standard error body, accepted values read back unchanged, memory back near its start', async () => {
    // A warm-up fills the caches, JIT code and pools that legitimately stay.
    const warm = await fuzzHttp({ baseUrl: h.url, token, iterations: 150, seed: 1 });
    assert.deepEqual(warm.problems, []);
    const start = await heapAfterGc();
    const report = await fuzzHttp({ baseUrl: h.url, token, iterations: 1200, seed: 20_261_202 });
    assert.deepEqual(report.problems, []);
    assert.equal(report.iterations, 1200);
    const accepted = Object.entries(report.answers)
      .filter(([k]) => / 2\d\d$/.test(k))
      .reduce((n, [, v]) => n + v, 0);
    assert.ok(accepted > 100 && accepted < 1100, `a useful mix of accepted (${accepted}) and refused bodies: ${JSON.stringify(report.answers)}`);
    assert.ok(report.readBacks > 50, `read backs: ${report.readBacks}`);
    const grown = (await heapAfterGc()) - start;
    assert.ok(grown < 32 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024)} KiB`);
    const health = await h.call('GET', '/healthz');
    assert.equal(health.status, 200, 'the process is up and its database answers');
  });
});
