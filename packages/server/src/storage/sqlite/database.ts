import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { migrations } from './migrations';

export type Db = Database.Database;

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** FULL syncs the WAL on every commit (survives power loss); NORMAL survives a process crash only. */
  synchronous: 'full' | 'normal';
}

export function openDatabase(o: SqliteOptions): Db {
  if (o.path !== ':memory:') mkdirSync(dirname(o.path), { recursive: true });
  const db = new Database(o.path);
  db.pragma('journal_mode = WAL');
  db.pragma(`synchronous = ${o.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(`The database has schema version ${current}, newer than this Thingstead (${migrations.length}); upgrade Thingstead.`);
  }
  for (let v = current; v < migrations.length; v++) {
    db.transaction(() => {
      db.exec(migrations[v] ?? '');
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** Escapes a user's search text for LIKE ... ESCAPE '\'. */
export const likePattern = (s: string): string => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
