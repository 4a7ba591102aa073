import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The file a running Thingstead keeps in its data directory: its process id. */
export const pidFileName = 'thingstead.pid';

export class DataDirInUseError extends Error {
  constructor(
    readonly pid: number,
    dataDir: string,
  ) {
    super(`The data directory ${dataDir} is in use by a running Thingstead (process ${pid}); stop it first.`);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** The live process holding the data directory, if any (a pid file of a process that died is stale). */
export function dataDirHolder(dataDir: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, pidFileName), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isSafeInteger(pid) && pid > 0 && alive(pid) ? pid : undefined;
}

/**
 * Marks the data directory as used by this process, so a second server or an offline `thingstead admin` command
 * refuses it instead of writing beside a running server. A stale pid file (a crash) is taken over. The same
 * process may hold it more than once (tests restart in one process); release removes only its own mark.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  const file = join(dataDir, pidFileName);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const holder = dataDirHolder(dataDir);
      if (holder === process.pid) break;
      if (holder !== undefined) throw new DataDirInUseError(holder, dataDir);
      rmSync(file, { force: true });
    }
  }
  return {
    release: () => {
      if (dataDirHolder(dataDir) === process.pid) rmSync(file, { force: true });
    },
  };
}
