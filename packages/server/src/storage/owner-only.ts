import { chmodSync, closeSync, existsSync, fchmodSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * Owner-only files and directories for what holds secrets (the databases hold password hashes and device
 * tokens; jwt-secret signs every session). Modes given to mkdir and open are masked by the umask, so each is
 * set again explicitly: the result is 0700 / 0600 whatever the umask. SQLite creates its -wal and -shm files
 * with the mode of the database file, so creating that one 0600 covers them.
 */
export const dirMode = 0o700;
export const fileMode = 0o600;

/**
 * Creates the directory owner-only if it does not exist (parents as needed). An existing directory is left
 * as it is; the answer says whether group or others can read or enter it, so the caller can warn.
 */
export function ensureOwnerOnlyDir(dir: string): { created: boolean; groupOrOtherAccess: boolean } {
  if (existsSync(dir)) return { created: false, groupOrOtherAccess: (statSync(dir).mode & 0o077) !== 0 };
  mkdirSync(dir, { recursive: true, mode: dirMode });
  chmodSync(dir, dirMode);
  return { created: true, groupOrOtherAccess: false };
}

/** Creates an empty owner-only file unless the file exists (then it is left alone). */
export function ensureOwnerOnlyFile(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', fileMode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  try {
    fchmodSync(fd, fileMode);
  } finally {
    closeSync(fd);
  }
}
