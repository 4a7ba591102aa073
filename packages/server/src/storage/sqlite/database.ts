import Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureOwnerOnlyDir, ensureOwnerOnlyFile } from '../owner-only';
import { migrations } from './migrations';
import type { TsdbOptions } from './telemetry';

export type Db = Database.Database;

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** FULL syncs the WAL on every commit (survives power loss); NORMAL survives a process crash only. */
  synchronous: 'full' | 'normal';
  /** The time-series engine's tuning (tests and benchmarks; the defaults are the measured ones, ADR 0007). */
  telemetry?: Partial<Pick<TsdbOptions, 'chunkPoints' | 'walSegmentBytes' | 'walSegmentMaxAgeMs' | 'walSegments' | 'maxHeadPoints'>>;
  /**
   * Extra PRAGMAs for benchmarks and experiments (page_size, cache_size, mmap_size, wal_autocheckpoint), applied
   * before the schema; the defaults were measured (docs/adr/0007).
   */
  pragmas?: Readonly<Record<string, string | number>> | undefined;
  /** A background failure the store recovered from (a telemetry flush, retried). */
  onError?: ((e: unknown) => void) | undefined;
}

/** A database written by a newer Thingstead: it is refused before anything in it is changed. */
export class DataVersionError extends Error {
  constructor(path: string, found: number) {
    super(
      `${path} has schema version ${found}, newer than this Thingstead's (${migrations.length}): it was written by a later version. Run that version (or a later one), or restore a backup made by this one; the file was not changed.`,
    );
  }
}

/**
 * PRAGMA user_version straight from the file header (bytes 60-63, big-endian; sqlite.org/fileformat.html
 * §1.3.14), read without opening the database, so a newer one is refused with nothing written (opening would
 * already set pragmas and create -wal/-shm files). A newer version only in an un-checkpointed WAL is caught
 * by migrate() below.
 */
function headerUserVersion(path: string): number | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const header = Buffer.alloc(100);
    return readSync(fd, header, 0, 100, 0) === 100 && header.toString('latin1', 0, 15) === 'SQLite format 3' ? header.readInt32BE(60) : undefined;
  } finally {
    closeSync(fd);
  }
}

export function openDatabase(o: SqliteOptions): Db {
  if (o.path !== ':memory:') {
    const found = headerUserVersion(o.path);
    if (found !== undefined && found > migrations.length) throw new DataVersionError(o.path, found);
    ensureOwnerOnlyDir(dirname(o.path));
    // Created 0600 before SQLite opens it (SQLite would create it 0644 less the umask); -wal/-shm follow it.
    ensureOwnerOnlyFile(o.path);
  }
  const db = new Database(o.path);
  // page_size only takes effect before the first table is written (and before WAL mode).
  for (const [k, v] of Object.entries(o.pragmas ?? {})) if (k === 'page_size') db.pragma(`page_size = ${Number(v)}`);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${o.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // 64 MiB of page cache (the default is 2 MiB): measured, it cut a year's hourly aggregate from ~8 to ~6 ms and
  // a 100,000-point read from ~15 to ~11 ms on a 10 M-point store; page_size 16384, mmap_size and
  // wal_autocheckpoint changed nothing worth their cost (docs/adr/0007).
  db.pragma('cache_size = -65536');
  for (const [k, v] of Object.entries(o.pragmas ?? {})) {
    if (!/^[a-z_]+$/.test(k)) throw new Error(`not a PRAGMA name: ${k}`);
    if (k !== 'page_size') db.pragma(`${k} = ${Number(v)}`);
  }
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) throw new DataVersionError(db.name, current);
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Escapes a user's search text for LIKE ... ESCAPE '\'. */
export const likePattern = (s: string): string => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
