// Starts Thingstead (`thingstead start`) as a child process with its own temporary data directory and free
// ports, reads the ports from its JSON start-up log line, and makes sure no child outlives the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processCpuSeconds } from '../broker/machine-cpu';
import { children, installCleanup } from '../lib/child-cleanup';

export const ADMIN_EMAIL = 'bench@thingstead.local';
export const ADMIN_PASSWORD = 'ingest benchmark password';

export interface ServerOptions {
  repoRoot: string;
  /** Extra THINGSTEAD_* settings (synchronous mode, group commit delay, ...). */
  env: Record<string, string>;
  /** When set, the server runs with --cpu-prof and writes its profiles into this directory on exit. */
  cpuProfDir?: string | undefined;
  timeoutMs: number;
  /** Runs on the fresh data directory before the server starts (e.g. to fill thingstead.db with stored points). */
  prepare?: ((dataDir: string) => Promise<void>) | undefined;
}

export interface RunningServer {
  pid: number;
  httpPort: number;
  mqttPort: number;
  dataDir: string;
  cpuSeconds(): number;
  /** Lines the server logged at warn or above (JSON), for the report. */
  warnings: string[];
  /** SIGTERM (graceful: commits what waits), SIGKILL after a grace period; removes the data directory. */
  stop(): Promise<void>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'thingstead-bench-ingest-'));
  if (o.prepare !== undefined) {
    try {
      await o.prepare(dataDir);
    } catch (err) {
      rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }
  const args: string[] = [];
  if (o.cpuProfDir !== undefined) args.push('--cpu-prof', `--cpu-prof-dir=${join(o.cpuProfDir, `thingstead-${Date.now()}`)}`);
  args.push(join(o.repoRoot, 'packages/server/bin/thingstead.mjs'), 'start');
  const child = spawn(process.execPath, args, {
    cwd: dataDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? dataDir,
      THINGSTEAD_DATA_DIR: dataDir,
      THINGSTEAD_HTTP_PORT: '0',
      THINGSTEAD_MQTT_PORT: '0',
      THINGSTEAD_HOST: '127.0.0.1',
      THINGSTEAD_ADMIN_EMAIL: ADMIN_EMAIL,
      THINGSTEAD_ADMIN_PASSWORD: ADMIN_PASSWORD,
      THINGSTEAD_LOG_LEVEL: 'info',
      ...o.env,
    },
  });
  children.add(child);
  let stderrTail = '';
  child.stderr.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-4000);
  });
  const warnings: string[] = [];
  const cleanup = (): void => {
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const ports = await new Promise<{ http: number; mqtt: number }>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`Thingstead did not log its ports within ${o.timeoutMs} ms: ${stderrTail}`));
      }, o.timeoutMs);
      let buf = '';
      let found = false;
      // stdout is read to the end (it would otherwise fill the pipe and stall the server).
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          let rec: { level?: number; httpPort?: number; mqttPorts?: { tcp?: number } };
          try {
            rec = JSON.parse(line) as typeof rec;
          } catch {
            continue;
          }
          if ((rec.level ?? 0) >= 40 && warnings.length < 50) warnings.push(line);
          if (!found && typeof rec.httpPort === 'number' && typeof rec.mqttPorts?.tcp === 'number') {
            found = true;
            clearTimeout(timer);
            resolve({ http: rec.httpPort, mqtt: rec.mqttPorts.tcp });
          }
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`Thingstead exited with code ${String(code)} before listening: ${stderrTail}`));
      });
    });
    const pid = child.pid;
    if (pid === undefined) throw new Error('Thingstead: no pid');
    return {
      pid,
      httpPort: ports.http,
      mqttPort: ports.mqtt,
      dataDir,
      warnings,
      cpuSeconds: () => processCpuSeconds(pid),
      stop: async () => {
        await stopChild(child);
        cleanup();
      },
    };
  } catch (err) {
    await stopChild(child);
    cleanup();
    throw err;
  }
}

async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) =>
      child.once('exit', () => {
        resolve();
      }),
    );
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      console.log(`  (Thingstead did not stop within ${graceMs} ms of SIGTERM; killed, so no CPU profile)`);
      child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }
  children.delete(child);
}

export { installCleanup };
