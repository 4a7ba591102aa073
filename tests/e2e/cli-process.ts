// The real `thingstead start` in a child process, for tests of what only a process shows: signals, exit codes,
// the log. Ports are 0 and read back from the start-up log line.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;

export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  /** stdout, one parsed JSON object per line ({ text } when a line is not JSON). */
  lines: any[];
  stderr: () => string;
  exit: Promise<number | null>;
  /** performance.now() when the child exited. */
  exitedAt: () => number;
}

export function startCli(env: Record<string, string>): CliProcess {
  const child = spawn(process.execPath, ['packages/server/bin/thingstead.mjs', 'start'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  const lines: any[] = [];
  let err = '';
  let buf = '';
  let exitedAt = Number.NaN;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
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
  return { child, lines, stderr: () => err, exit, exitedAt: () => exitedAt };
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
