// A group of MQTT device connections, in this process or in a child process (mqtt-load-child.ts), behind one
// interface, so a large fleet (10,000 devices) can be split over several processes: each holds its share of the
// sockets (ulimit -n is per process) and its own event loop, and the results are merged.
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { processCpuSeconds } from '../broker/machine-cpu';
import { children } from '../lib/child-cleanup';
import type { BenchDevice } from './api';
import { DeviceConnection, LatencyRecorder, type ProtocolVersion } from './mqtt-load';

export interface GroupOptions {
  port: number;
  devices: readonly BenchDevice[];
  /** Index of devices[0] in the whole fleet (for client ids). */
  firstIndex: number;
  protocolVersion: ProtocolVersion;
  qos: 0 | 1;
  values: number;
  tsBase: number;
  perDevice: number;
  window: number;
  /** QoS 1: each connection sends at most this many messages per second (unset: as fast as the window allows). */
  ratePerSec?: number | undefined;
  timeoutMs: number;
}

export interface GroupReport {
  acked: number;
  refused: number;
  /** Epoch ms (performance.timeOrigin + now) of the last PUBACK (QoS 1) or write (QoS 0); NaN if none. */
  lastDoneAt: number;
  /** Why connections closed early (not by the benchmark). */
  closeReasons: string[];
  samples: Float64Array;
  n: number;
}

export interface LoadGroup {
  /** Connections not finished yet. */
  remaining(): number;
  acked(): number;
  start(): void;
  abort(reason: string): void;
  /** The group's figures so far (call once every connection is done or aborted). */
  report(): Promise<GroupReport>;
  /** DISCONNECT every connection (bounded); a child process exits. */
  close(): Promise<void>;
  /** CPU seconds of the group's own process when it is a child; 0 in this process (counted as the generator). */
  cpuSeconds(): number;
}

/** Connects in chunks, so thousands of devices do not overflow the server's accept backlog at once. */
const CONNECT_CHUNK = 500;
export const epochNow = (): number => performance.timeOrigin + performance.now();

export async function connectLocal(o: GroupOptions, onChange: () => void = () => undefined): Promise<LoadGroup> {
  const latency = new LatencyRecorder(o.qos === 1 ? o.devices.length * o.perDevice : 0);
  let remaining = o.devices.length;
  const conns: DeviceConnection[] = [];
  for (let i = 0; i < o.devices.length; i += CONNECT_CHUNK) {
    const settled = await Promise.allSettled(
      o.devices.slice(i, i + CONNECT_CHUNK).map((device, j) =>
        DeviceConnection.connect({
          port: o.port,
          device,
          clientId: `bench-ingest-${process.pid}-${o.firstIndex + i + j}`,
          protocolVersion: o.protocolVersion,
          qos: o.qos,
          values: o.values,
          tsBase: o.tsBase,
          total: o.perDevice,
          window: o.window,
          ratePerSec: o.ratePerSec,
          // Spread over the period by the golden ratio of the device's index in the fleet (deterministic, even).
          phase: ((o.firstIndex + i + j) * 0.618033988749895) % 1,
          timeoutMs: o.timeoutMs,
          latency,
          onDone: () => {
            remaining--;
            onChange();
          },
        }),
      ),
    );
    for (const r of settled) if (r.status === 'fulfilled') conns.push(r.value);
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await Promise.all(conns.map((c) => c.close()));
      throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
    }
  }
  return {
    remaining: () => remaining,
    acked: () => conns.reduce((a, c) => a + c.acked, 0),
    start: () => {
      for (const c of conns) c.start();
    },
    abort: (reason) => {
      for (const c of conns) c.abort(reason);
    },
    report: () => {
      const last = Math.max(...conns.map((c) => (Number.isNaN(c.lastDoneAt) ? 0 : c.lastDoneAt)));
      return Promise.resolve({
        acked: conns.reduce((a, c) => a + c.acked, 0),
        refused: conns.reduce((a, c) => a + c.refused, 0),
        lastDoneAt: last > 0 ? performance.timeOrigin + last : Number.NaN,
        closeReasons: conns.filter((c) => c.closeReason !== '' && c.closeReason !== 'ended by the benchmark').map((c) => c.closeReason),
        samples: latency.samples,
        n: latency.n,
      });
    },
    close: async () => {
      await Promise.all(conns.map((c) => c.close()));
    },
    cpuSeconds: () => 0,
  };
}

/** Messages between this process and a mqtt-load-child.ts process. */
export type ToChild = { t: 'connect'; o: GroupOptions } | { t: 'start' } | { t: 'abort'; reason: string } | { t: 'report' } | { t: 'close' };
export type FromChild =
  | { t: 'connected' }
  | { t: 'error'; message: string }
  | { t: 'progress'; acked: number; remaining: number }
  | { t: 'report'; report: Omit<GroupReport, 'samples'> & { samples: number[] } }
  | { t: 'closed' };

export async function connectChild(o: GroupOptions): Promise<LoadGroup> {
  const child: ChildProcess = fork(join(import.meta.dirname, 'mqtt-load-child.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  children.add(child);
  let acked = 0;
  let remaining = o.devices.length;
  const waiters = new Map<FromChild['t'], (m: FromChild) => void>();
  const next = <T extends FromChild['t']>(t: T, timeoutMs: number): Promise<Extract<FromChild, { t: T }>> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`load child ${String(child.pid)}: no '${t}' within ${timeoutMs} ms`));
      }, timeoutMs);
      waiters.set(t, (m) => {
        clearTimeout(timer);
        resolve(m as Extract<FromChild, { t: T }>);
      });
    });
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      children.delete(child);
      resolve();
    }),
  );
  child.on('message', (m: FromChild) => {
    if (m.t === 'progress') {
      acked = m.acked;
      remaining = m.remaining;
    }
    const w = waiters.get(m.t) ?? (m.t === 'error' ? waiters.get('connected') : undefined);
    if (w !== undefined) {
      waiters.delete(m.t === 'error' ? 'connected' : m.t);
      w(m);
    }
  });
  const send = (m: ToChild): void => {
    if (!exited && child.connected) child.send(m);
  };
  const connected = next('connected', o.timeoutMs + 60_000);
  send({ t: 'connect', o });
  const first = (await connected) as FromChild;
  if (first.t === 'error') {
    child.kill('SIGKILL');
    throw new Error(first.message);
  }
  const pid = child.pid ?? -1;
  return {
    remaining: () => remaining,
    acked: () => acked,
    start: () => {
      send({ t: 'start' });
    },
    abort: (reason) => {
      send({ t: 'abort', reason });
    },
    report: async () => {
      const r = next('report', 30_000);
      send({ t: 'report' });
      const { report } = await r;
      return { ...report, samples: Float64Array.from(report.samples) };
    },
    close: async () => {
      const closed = next('closed', 10_000).catch(() => undefined);
      send({ t: 'close' });
      await closed;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
    cpuSeconds: () => processCpuSeconds(pid),
  };
}
