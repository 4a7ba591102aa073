import type { ChildProcess } from 'node:child_process';

/** Child processes (brokers, servers) a benchmark started; all are killed when the benchmark ends in any way. */
export const children = new Set<ChildProcess>();
let installed = false;

/** Kills every child on exit, on SIGINT/SIGTERM and on an uncaught error. */
export function installCleanup(): void {
  if (installed) return;
  installed = true;
  const killAll = (): void => {
    for (const c of children) c.kill('SIGKILL');
    children.clear();
  };
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (err) => {
    killAll();
    console.error(err);
    process.exit(1);
  });
}
