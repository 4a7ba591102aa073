import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;

/** The `thingstead` CLI in a child process, with its stdout split into lines (JSON lines parsed). */
export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  lines: Record<string, unknown>[];
  stderr: () => string;
  exit: Promise<number | null>;
  /** Resolves with the first line `pick` accepts, or fails after ms. */
  waitForLine<T>(pick: (line: Record<string, unknown>) => T | undefined, what: string, ms?: number): Promise<T>;
}

export function runCli(args: string[], env: Record<string, string> = {}): CliRun {
  const child = spawn(process.execPath, ['packages/server/bin/thingstead.mjs', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
  });
  const lines: Record<string, unknown>[] = [];
  let err = '';
  let buf = '';
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ text: line });
      }
    }
  });
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
  return {
    child,
    lines,
    stderr: () => err,
    exit,
    async waitForLine(pick, what, ms = 20_000) {
      const end = Date.now() + ms;
      for (;;) {
        for (const l of lines) {
          const v = pick(l);
          if (v !== undefined) return v;
        }
        if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) while waiting for ${what}: ${err}`);
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${err}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}

/** Kills the process without letting it clean up, as a crash or power cut would (SIGKILL). */
export async function crash(run: CliRun): Promise<void> {
  run.child.kill('SIGKILL');
  await run.exit;
}
