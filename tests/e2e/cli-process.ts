// The real `thingstead` CLI in a child process, for tests of what only a process shows: signals, crashes, exit
// codes, the log. Ports are 0 and read back from the start-up log line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** stdout, one parsed JSON object per line ({ text } when a line is not JSON). */
  lines: any[];
  /** stdout's lines as written. */
  raw: string[];
  stderr: () => string;
  exit: Promise<number | null>;
  /** performance.now() when the child exited. */
  exitedAt: () => number;
}

/** `thingstead start` with this environment (and nothing else of the test's). */
export function startCli(env: Record<string, string>): CliProcess {
  return runCli(['start'], env);
}

export function runCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['packages/server/bin/thingstead.mjs', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  const lines: any[] = [];
  const raw: string[] = [];
  let err = '';
  let buf = '';
  let exitedAt = Number.NaN;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      raw.push(line);
      try {
        lines.push(JSON.parse(line));
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exitedAt = performance.now();
      resolve(code);
    }),
  );
  return { child, lines, raw, stderr: () => err, exit, exitedAt: () => exitedAt };
}

export async function waitFor<T>(f: () => T | undefined | false, what: string, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Resolves with the listening line's ports. */
export async function listening(p: CliProcess): Promise<{ httpPort: number; mqttPort: number }> {
  const l = await waitFor(() => p.lines.find((x) => typeof x.httpPort === 'number'), `the listening line (stderr: ${p.stderr()})`);
  return { httpPort: l.httpPort as number, mqttPort: l.mqttPorts.tcp as number };
}

/** Kills the process without letting it clean up, as a crash or power cut would (SIGKILL). */
export async function crash(p: CliProcess): Promise<void> {
  p.child.kill('SIGKILL');
  await p.exit;
}
