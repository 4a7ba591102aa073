import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker, brokerInternals } from '../broker';
import { duplexPair } from './duplex-pair';
import { connected } from './test-client';
import { FuzzWatcher, heapUsedAfterGc, runFuzz, type FuzzReport } from './fuzz';

// Enough to find both remote crashes of issue 6 on the code before the codec checks
// ('50 00' after CONNECT and the overrunning user property, each within ~2,000 cases),
// in a few seconds. `npm run fuzz` runs the same engine for minutes over TCP.
const seed = 6;
const iterations = 8000;

function summary(report: FuzzReport): string {
  return JSON.stringify(report.findings.slice(0, 5), null, 2);
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

describe('fuzzing the broker (issue 6)', () => {
  test(`seeded mutation fuzzer, ${iterations} cases over in-memory duplex pairs: no uncaught exception, every connection closed by the broker, well-formed replies, state and heap back to the start`, async () => {
    const broker = new Broker({ limits: { maxPacketBytes: 64 * 1024, connectTimeoutMs: 2000 } });
    const open = () => {
      const [client, server] = duplexPair();
      broker.handle(server, { transport: 'tcp', remoteAddress: '127.0.0.1' });
      return Promise.resolve(client);
    };
    // Long-lived subscribers to everything: a bad message routed to them must not break them.
    const watchers = [
      new FuzzWatcher({ open, version: 5, clientId: 'watch-5', filters: ['#'] }),
      new FuzzWatcher({ open, version: 4, clientId: 'watch-4', filters: ['#', '$SYS/#'] }),
    ];
    for (const w of watchers) await w.start();
    const heapBefore = heapUsedAfterGc();

    const report = await runFuzz({ seed, iterations, concurrency: 4, closeTimeoutMs: 3000, targets: [{ name: 'memory', open }] });

    assert.equal(report.iterations, iterations);
    assert.equal(report.crashes, 0, `uncaught exceptions:\n${summary(report)}`);
    assert.equal(report.hung, 0, `connections the broker did not close:\n${summary(report)}`);
    assert.equal(report.malformedReplies, 0, `replies that did not parse:\n${summary(report)}`);
    assert.equal(broker.stats().clientErrors, 0, 'every bad packet was refused by validation, none reached an exception');
    for (const w of watchers) {
      assert.deepEqual(w.problems, []);
      assert.equal(w.disconnects, 0);
      assert.ok(w.received > 100, `the watcher saw traffic (${w.received})`);
    }
    for (const w of watchers) await w.stop();

    // Every fuzz connection ended; what is left are the persistent sessions some cases asked for.
    await until(() => broker.stats().connections === 0, 'all connections closed');
    assert.equal(broker.stats().clientsConnected, 0);
    for (const s of brokerInternals(broker).sessions.values()) {
      assert.ok(s.persistent, `only persistent sessions outlive their connection (${s.clientId})`);
      assert.equal(s.client, undefined);
    }
    // Ending them with Clean Start brings the broker back to empty.
    for (const id of [...brokerInternals(broker).sessions.keys()]) {
      const c = await connected(broker, 5, { clientId: id, clean: true });
      c.send({ cmd: 'disconnect', reasonCode: 0 });
      await c.waitClosed();
    }
    await until(() => broker.stats().sessions === 0 && broker.stats().connections === 0, 'no session left');
    assert.equal(broker.stats().subscriptions, 0);
    const grown = heapUsedAfterGc() - heapBefore;
    assert.ok(grown < 32 * 1024 * 1024, `heap grew by ${Math.round(grown / 1024)} KiB`);
    await broker.close();
  });
});
