import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { create as createTar, extract as extractTar } from 'tar';
import { dirMode, fileMode } from './owner-only';
import { migrations } from './sqlite/migrations';

/**
 * Online backup and offline restore of a data directory's state (the embedded SQLite store): one tar file
 * (gzip when the name ends in .gz or .tgz) holding consistent snapshots of thingstead.db and broker.db, the
 * telemetry log, the JWT secret and a manifest with every file's SHA-256. See docs/operations/backup.md.
 */

const manifestName = 'thingstead-backup.json';
const tslogName = 'thingstead.db-tslog';
const segmentName = /^\d{16}\.wal$/;
/** The data directory's state, in the order it is snapshotted (the log before the database: see below). */
const stateFiles = ['thingstead.db', 'broker.db', 'jwt-secret'] as const;

export interface BackupManifest {
  format: 1;
  thingsteadVersion: string;
  createdAt: string;
  /** thingstead.db's PRAGMA user_version: the migrations applied. */
  schemaVersion: number;
  files: { name: string; bytes: number; sha256: string }[];
}

/** A backup or restore that cannot be done as asked; the message says why and what to do. */
export class BackupError extends Error {}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');
const gzipped = (file: string): boolean => /\.(gz|tgz)$/.test(file);

/** Where a snapshot goes: a fresh owner-only directory beside `near`, removed by the caller. */
function stagingDir(near: string, prefix: string): string {
  const dir = mkdtempSync(join(near, prefix));
  chmodSync(dir, dirMode);
  return dir;
}

/** VACUUM INTO from a read-only connection: one read transaction, so a consistent snapshot while a server writes. */
function snapshotDatabase(from: string, to: string): number {
  const db = new Database(from, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    const version = db.pragma('user_version', { simple: true }) as number;
    db.prepare('VACUUM INTO ?').run(to);
    chmodSync(to, fileMode);
    return version;
  } finally {
    db.close();
  }
}

/**
 * Backs up the data directory, whether a server runs on it or not. Order makes it consistent: the telemetry
 * log's segments are copied first, then thingstead.db is snapshotted. Every point acknowledged before the
 * backup began is then either in the snapshot's chunks or in the copied log (a segment is only deleted once
 * its points are in chunks, which the later snapshot holds); replay on restore skips what the snapshot already
 * has (ts_series.flushed_lsn). A record half-written at copy time was not acknowledged yet and is cut off on open.
 */
export async function backupDataDir(o: { dataDir: string; file: string; version: string }): Promise<BackupManifest> {
  const dataDir = resolve(o.dataDir);
  const file = resolve(o.file);
  if (!existsSync(join(dataDir, 'thingstead.db')))
    throw new BackupError(`There is no Thingstead data in ${dataDir} (no thingstead.db): point THINGSTEAD_DATA_DIR at the data directory.`);
  if (!existsSync(dirname(file))) throw new BackupError(`The directory of ${file} does not exist.`);
  const staging = stagingDir(dirname(file), '.thingstead-backup-');
  try {
    const names: string[] = [];
    const log = join(dataDir, tslogName);
    if (existsSync(log)) {
      mkdirSync(join(staging, tslogName), { mode: dirMode });
      for (const seg of readdirSync(log)
        .filter((n) => segmentName.test(n))
        .sort()) {
        try {
          copyFileSync(join(log, seg), join(staging, tslogName, seg));
        } catch (e) {
          // Deleted since the listing: its points were in chunks by then, so the snapshot below has them.
          if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
          throw e;
        }
        names.push(`${tslogName}/${seg}`);
      }
    }
    const schemaVersion = snapshotDatabase(join(dataDir, 'thingstead.db'), join(staging, 'thingstead.db'));
    names.unshift('thingstead.db');
    if (existsSync(join(dataDir, 'broker.db'))) {
      snapshotDatabase(join(dataDir, 'broker.db'), join(staging, 'broker.db'));
      names.push('broker.db');
    }
    if (existsSync(join(dataDir, 'jwt-secret'))) {
      copyFileSync(join(dataDir, 'jwt-secret'), join(staging, 'jwt-secret'));
      names.push('jwt-secret');
    }
    const manifest: BackupManifest = {
      format: 1,
      thingsteadVersion: o.version,
      createdAt: new Date().toISOString(),
      schemaVersion,
      files: names.map((name) => ({ name, bytes: statSync(join(staging, name)).size, sha256: sha256(join(staging, name)) })),
    };
    writeFileSync(join(staging, manifestName), `${JSON.stringify(manifest, null, 2)}\n`, { mode: fileMode });
    // Written beside the target and renamed: a backup file that exists is complete.
    const partial = join(staging, `${basename(file)}.partial`);
    await createTar({ file: partial, cwd: staging, gzip: gzipped(file), portable: true }, [manifestName, ...names]);
    chmodSync(partial, fileMode);
    renameSync(partial, file);
    return manifest;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** What a data directory holds of the state a backup covers (SQLite's -wal and -shm files included). */
function existingState(dataDir: string): string[] {
  const names = ['thingstead.db', 'thingstead.db-wal', 'thingstead.db-shm', tslogName, 'broker.db', 'broker.db-wal', 'broker.db-shm', 'jwt-secret'];
  return names.filter((n) => existsSync(join(dataDir, n)));
}

const allowedEntry = (path: string): boolean => {
  const p = path.replace(/\/$/, '');
  return (
    p === manifestName ||
    (stateFiles as readonly string[]).includes(p) ||
    p === tslogName ||
    (p.startsWith(`${tslogName}/`) && segmentName.test(p.slice(tslogName.length + 1)))
  );
};

/** Reads and checks a backup's manifest against the files extracted beside it. */
function verified(staging: string, file: string): BackupManifest {
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(join(staging, manifestName), 'utf8')) as BackupManifest;
  } catch {
    throw new BackupError(`${file} is not a Thingstead backup (it has no readable ${manifestName}).`);
  }
  if ((manifest.format as unknown) !== 1 || !Array.isArray(manifest.files))
    throw new BackupError(`${file} has backup format ${String(manifest.format)}, which this Thingstead cannot read; upgrade Thingstead.`);
  if (manifest.schemaVersion > migrations.length)
    throw new BackupError(
      `${file} was made by Thingstead ${manifest.thingsteadVersion} (schema ${manifest.schemaVersion}), newer than this one (schema ${migrations.length}); restore it with that version or a later one.`,
    );
  for (const f of manifest.files) {
    const path = join(staging, f.name);
    if (!allowedEntry(f.name) || !existsSync(path) || statSync(path).size !== f.bytes || sha256(path) !== f.sha256)
      throw new BackupError(`${file} is damaged: ${f.name} is missing or does not match its checksum. Nothing was restored.`);
  }
  for (const name of ['thingstead.db', 'broker.db'].filter((n) => manifest.files.some((f) => f.name === n))) {
    const db = new Database(join(staging, name), { readonly: true, fileMustExist: true });
    try {
      const check = db.pragma('quick_check', { simple: true });
      if (check !== 'ok') throw new BackupError(`${file} is damaged: ${name} fails SQLite's check (${String(check)}). Nothing was restored.`);
    } finally {
      db.close();
    }
  }
  return manifest;
}

/**
 * Restores a backup into a stopped data directory (the caller holds its lock). A directory that already holds
 * data is refused unless `force`; then the files it had are moved to `replaced-<time>/` inside it, not deleted.
 * The archive is extracted and checked (manifest, checksums, SQLite quick_check) before anything is replaced.
 */
export async function restoreDataDir(o: { dataDir: string; file: string; force: boolean }): Promise<{ manifest: BackupManifest; movedTo?: string }> {
  const dataDir = resolve(o.dataDir);
  const file = resolve(o.file);
  if (!existsSync(file)) throw new BackupError(`There is no backup file ${file}.`);
  const existing = existingState(dataDir);
  if (existing.length > 0 && !o.force)
    throw new BackupError(
      `The data directory ${dataDir} already holds data (${existing.join(', ')}). Restore into an empty directory (THINGSTEAD_DATA_DIR), or pass --force to replace it: its files are then moved to ${join(dataDir, 'replaced-<time>')}/.`,
    );
  const staging = stagingDir(dataDir, '.restore-');
  try {
    try {
      await extractTar({ file, cwd: staging, strict: true, filter: allowedEntry, preservePaths: false });
    } catch (e) {
      throw new BackupError(`${file} is not a readable Thingstead backup (${(e as Error).message}). Nothing was restored.`, { cause: e });
    }
    const manifest = verified(staging, file);
    let movedTo: string | undefined;
    if (existing.length > 0) {
      movedTo = join(dataDir, `replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      mkdirSync(movedTo, { mode: dirMode });
      for (const name of existing) renameSync(join(dataDir, name), join(movedTo, name));
    }
    const names = new Set(manifest.files.map((f) => f.name.split('/')[0] ?? f.name));
    for (const name of names) {
      const path = join(staging, name);
      chmodSync(path, statSync(path).isDirectory() ? dirMode : fileMode);
      if (statSync(path).isDirectory()) for (const seg of readdirSync(path)) chmodSync(join(path, seg), fileMode);
      renameSync(path, join(dataDir, name));
    }
    return movedTo === undefined ? { manifest } : { manifest, movedTo };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
