// A load-generator child process: holds one share of the MQTT device connections of a scenario (load-group.ts),
// driven over the IPC channel by bench/ingest/run.ts. Exits when the channel closes.
import { connectLocal, type FromChild, type LoadGroup, type ToChild } from './load-group';

const send = (m: FromChild): void => {
  if (process.connected) process.send?.(m);
};
let group: LoadGroup | undefined;
let progress: NodeJS.Timeout | undefined;
const report = (): void => {
  if (group !== undefined) send({ t: 'progress', acked: group.acked(), remaining: group.remaining() });
};

process.on('disconnect', () => {
  process.exit(0);
});
process.on('message', (m: ToChild) => {
  void handle(m).catch((err: unknown) => {
    send({ t: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});

async function handle(m: ToChild): Promise<void> {
  switch (m.t) {
    case 'connect': {
      // Progress on every finished connection would flood the channel; the parent polls every 250 ms anyway.
      let last = 0;
      group = await connectLocal(m.o, () => {
        const now = performance.now();
        if (group?.remaining() === 0 || now - last > 100) {
          last = now;
          report();
        }
      });
      send({ t: 'connected' });
      return;
    }
    case 'start':
      group?.start();
      progress = setInterval(report, 100);
      return;
    case 'abort':
      group?.abort(m.reason);
      report();
      return;
    case 'report': {
      if (group === undefined) return;
      const r = await group.report();
      send({ t: 'report', report: { ...r, samples: Array.from(r.samples.subarray(0, r.n)) } });
      return;
    }
    case 'close':
      clearInterval(progress);
      await group?.close();
      send({ t: 'closed' });
      process.disconnect();
      return;
  }
}
