// The caller side of the RPC benchmark, in a process of its own: `concurrency` loops, each sending one two-way
// command over REST (POST /api/devices/{id}/rpc) and waiting for its answer before the next (stop-and-wait),
// round-robin over the devices. Checks that every answer echoes its own request. Driven over IPC by run.ts.
import { Agent, request } from 'node:http';

export interface CallerJob {
  port: number;
  jwt: string;
  deviceIds: string[];
  concurrency: number;
  durationMs: number;
  warmupMs: number;
}
export type ToCallers = { t: 'run'; job: CallerJob };
export type FromCallers =
  { t: 'done'; ok: number; errors: number; wrong: number; firstError: string; latenciesMs: number[]; elapsedMs: number } | { t: 'error'; message: string };

const send = (m: FromCallers): void => {
  if (process.connected) process.send?.(m);
};
process.on('disconnect', () => process.exit(0));
process.on('message', (m: ToCallers) => {
  run(m.job).then(send, (err: unknown) => {
    send({ t: 'error', message: err instanceof Error ? err.message : String(err) });
  });
});

function post(agent: Agent, job: CallerJob, deviceId: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent,
        host: '127.0.0.1',
        port: job.port,
        method: 'POST',
        path: `/api/devices/${deviceId}/rpc`,
        headers: { authorization: `Bearer ${job.jwt}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function run(job: CallerJob): Promise<FromCallers> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.concurrency });
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let wrong = 0;
  let firstError = '';
  const t0 = performance.now();
  const measureFrom = t0 + job.warmupMs;
  const end = measureFrom + job.durationMs;
  let seq = 0;
  let lastDone = measureFrom;
  const loop = async (k: number): Promise<void> => {
    for (let i = k; performance.now() < end; i += job.concurrency) {
      const n = seq++;
      const body = `{"method":"echo","params":{"n":${n}},"timeoutMs":10000}`;
      const start = performance.now();
      try {
        const r = await post(agent, job, job.deviceIds[i % job.deviceIds.length]!, body);
        const done = performance.now();
        if (start < measureFrom) continue;
        lastDone = Math.max(lastDone, done);
        if (r.status !== 200) {
          errors++;
          if (firstError === '') firstError = `${r.status} ${r.text.slice(0, 200)}`;
          continue;
        }
        const echo = (JSON.parse(r.text) as { response?: { echo?: { params?: { n?: number } } } }).response?.echo?.params?.n;
        if (echo !== n) wrong++;
        else {
          ok++;
          latencies.push(done - start);
        }
      } catch (err) {
        errors++;
        if (firstError === '') firstError = err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: job.concurrency }, (_, k) => loop(k)));
  agent.destroy();
  return { t: 'done', ok, errors, wrong, firstError, latenciesMs: latencies, elapsedMs: lastDone - measureFrom };
}
