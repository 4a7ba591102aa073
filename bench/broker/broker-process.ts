// Starts each broker in its own child process on a free 127.0.0.1 port, so the broker and the load generator
// never share an event loop, and makes sure no child outlives the benchmark (exit, SIGINT, SIGTERM, errors).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuSeconds } from './machine-cpu';
import { children, installCleanup } from '../lib/child-cleanup';

/** `baseline` is Thingstead's broker from another checkout (run.ts --baseline), measured beside the current one. */
export type BrokerName = 'mosquitto' | 'aedes' | 'thingstead' | 'baseline';
export const BROKER_NAMES: readonly BrokerName[] = ['mosquitto', 'aedes', 'thingstead'];

export interface RunningBroker {
  name: BrokerName;
  port: number;
  pid: number;
  /** CPU seconds (user + system) the broker process has used so far. */
  cpuSeconds(): number;
  /** Stops the broker (SIGTERM, then SIGKILL after a grace period). */
  stop(): Promise<void>;
}

export interface StartOptions {
  repoRoot: string;
  /** The checkout `baseline` runs from. */
  baselineRoot?: string | undefined;
  /** When set, Node brokers run with --cpu-prof and write their profile into this directory on exit. */
  cpuProfDir?: string | undefined;
  timeoutMs: number;
}

const MOSQUITTO = '/usr/sbin/mosquitto';

export async function startBroker(name: BrokerName, opts: StartOptions): Promise<RunningBroker> {
  switch (name) {
    case 'mosquitto':
      return startMosquitto(opts);
    case 'aedes':
      return startNodeServer(name, join(opts.repoRoot, 'bench/broker/servers/aedes-server.ts'), opts);
    case 'thingstead':
      return startNodeServer(name, join(opts.repoRoot, 'bench/broker/servers/thingstead-server.ts'), opts);
    case 'baseline': {
      if (opts.baselineRoot === undefined) throw new Error('the baseline broker needs --baseline <checkout>');
      return startNodeServer(name, join(opts.baselineRoot, 'bench/broker/servers/thingstead-server.ts'), { ...opts, repoRoot: opts.baselineRoot });
    }
  }
}

async function startMosquitto(opts: StartOptions): Promise<RunningBroker> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'thingstead-bench-mosquitto-'));
  const conf = join(dir, 'mosquitto.conf');
  // Mosquitto's defaults, except a generous in-flight window (default 20) and queue (default 1000), so the
  // broker's speed, not its limits, sets the pace and QoS 1 is not dropped. set_tcp_nodelay stays false (the
  // default, like Node's net servers): turning it on halves Mosquitto's throughput here, one segment per message.
  writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence false',
      'max_inflight_messages 1000',
      'max_queued_messages 1000000',
      'log_dest stderr',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  const child = spawn(MOSQUITTO, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = captureTail(child);
  children.add(child);
  try {
    await waitForPort(port, child, opts.timeoutMs, stderr);
  } catch (err) {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return running('mosquitto', port, child, () => {
    rmSync(dir, { recursive: true, force: true });
  });
}

async function startNodeServer(name: BrokerName, script: string, opts: StartOptions): Promise<RunningBroker> {
  const args = ['--import', 'tsx'];
  // One directory per broker process: Node writes one profile per thread (tsx's loader runs in its own thread),
  // the broker's main thread being the largest file.
  if (opts.cpuProfDir !== undefined) args.push('--cpu-prof', `--cpu-prof-dir=${join(opts.cpuProfDir, `${name}-${Date.now()}`)}`);
  args.push(script);
  // stdin stays open: the server exits when it closes, so even a SIGKILLed benchmark leaves no broker behind.
  const child = spawn(process.execPath, args, { cwd: opts.repoRoot, stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = captureTail(child);
  children.add(child);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${name} did not report its port within ${opts.timeoutMs} ms: ${stderr()}`));
      }, opts.timeoutMs);
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /listening (\d+)/.exec(out);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited with code ${String(code)} before listening: ${stderr()}`));
      });
    });
    return running(name, port, child, () => undefined);
  } catch (err) {
    await stopChild(child);
    throw err;
  }
}

function running(name: BrokerName, port: number, child: ChildProcess, cleanup: () => void): RunningBroker {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: no pid`);
  return {
    name,
    port,
    pid,
    cpuSeconds: () => processCpuSeconds(pid),
    stop: async () => {
      await stopChild(child);
      cleanup();
    },
  };
}

async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
  children.delete(child);
}

function captureTail(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  return () => tail.trim();
}

/** Asks the kernel for a free port. Another process could take it before the broker binds; startup then fails loudly. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => {
        if (addr !== null && typeof addr === 'object') resolve(addr.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited with code ${child.exitCode}: ${stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host: '127.0.0.1' });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`broker not listening on ${port} within ${timeoutMs} ms: ${stderr()}`);
}

export { installCleanup };
