import { ThingsteadError, type ErrorName, type Page, type PageQuery } from '@thingstead/core';
import type Database from 'better-sqlite3';
import { likePattern, type Db } from './database';

export interface ListSpec<Row, T> {
  /** A table, or tables joined (then give select and qualified column names). */
  table: string;
  /** The selected columns; `*` by default. */
  select?: string;
  /** The id column, the tie-breaker of the sort; `id` by default. */
  idColumn?: string;
  /** More conditions, each with its parameters. */
  where?: readonly { sql: string; params: readonly unknown[] }[];
  /** API sort name -> column. */
  sortColumns: Record<string, string>;
  searchColumn: string;
  /** Fixed filters, column -> value. */
  filters: Record<string, string | undefined>;
  map: (row: Row) => T;
}

type Statement = Database.Statement;
const statements = new WeakMap<Db, Map<string, Statement>>();
/** Distinct SQL texts are few (one per query shape); the bound only guards against a shape built from data. */
const maxCachedStatements = 500;

/**
 * The prepared statement of an SQL text, prepared once per database: preparing costs more than running a
 * simple query (7 % of the server's CPU under REST load, for a device lookup per request).
 */
export function stmt(db: Db, sql: string): Statement {
  let cache = statements.get(db);
  if (cache === undefined) statements.set(db, (cache = new Map<string, Statement>()));
  let s = cache.get(sql);
  if (s === undefined) {
    if (cache.size >= maxCachedStatements) cache.clear();
    s = db.prepare(sql);
    cache.set(sql, s);
  }
  return s;
}

/** SQL helpers shared by the repositories. listPage: one paged, sorted, searchable list query (plus its count) for any table. */
export function listPage<Row, T>(db: Db, q: PageQuery, spec: ListSpec<Row, T>): Page<T> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [col, value] of Object.entries(spec.filters)) {
    if (value === undefined) continue;
    where.push(`${col} = ?`);
    params.push(value);
  }
  for (const w of spec.where ?? []) {
    where.push(w.sql);
    params.push(...w.params);
  }
  if (q.search) {
    where.push(`${spec.searchColumn} LIKE ? ESCAPE '\\'`);
    params.push(likePattern(q.search));
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const sort = spec.sortColumns[q.sort];
  if (!sort) throw new Error(`unsortable field ${q.sort}`);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const rows = stmt(
    db,
    `SELECT ${spec.select ?? '*'} FROM ${spec.table} ${clause} ORDER BY ${sort} ${dir}, ${spec.idColumn ?? 'id'} ${dir} LIMIT ? OFFSET ?`,
  ).all(...params, q.limit, q.offset) as Row[];
  const { n } = stmt(db, `SELECT COUNT(*) AS n FROM ${spec.table} ${clause}`).get(...params) as { n: number };
  return { items: rows.map(spec.map), total: n, limit: q.limit, offset: q.offset };
}

/** The first row of a query, mapped; undefined when there is none. */
export function one<T>(db: Db, sql: string, map: (row: never) => T, ...params: unknown[]): T | undefined {
  const row = stmt(db, sql).get(...params);
  return row === undefined ? undefined : map(row as never);
}

/** UPDATE table SET col = value ... WHERE id = ?, for the columns whose value is not undefined. */
export function updateColumns(db: Db, table: string, id: string, columns: Record<string, unknown>): void {
  const set = Object.entries(columns).filter(([, v]) => v !== undefined);
  if (set.length === 0) return;
  stmt(db, `UPDATE ${table} SET ${set.map(([c]) => `${c} = ?`).join(', ')} WHERE id = ?`).run(...set.map(([, v]) => v), id);
}

/** SQLite's name of a unique index (the columns in its UNIQUE constraint message) -> the specific conflict of the Store port. */
const uniqueKinds: Record<string, ErrorName> = {
  'tenants.name': 'TENANT_NAME_TAKEN',
  'users.email': 'EMAIL_TAKEN',
  'device_profiles.tenant_id, device_profiles.name': 'PROFILE_NAME_TAKEN',
  'devices.tenant_id, devices.name': 'DEVICE_NAME_TAKEN',
  'device_credentials.access_token': 'ACCESS_TOKEN_TAKEN',
  'device_credentials.mqtt_username': 'MQTT_USERNAME_TAKEN',
  'notification_channels.tenant_id, notification_channels.name': 'NOTIFICATION_CHANNEL_NAME_TAKEN',
};

/**
 * Runs a write and turns a uniqueness violation into the Store port's conflict error, so a write that loses a
 * check-then-insert race is a 409 like the check's, never a raw driver error (a 500).
 */
export function unique<T>(write: () => T): T {
  try {
    return write();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code !== 'SQLITE_CONSTRAINT_UNIQUE' && code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw e;
    const columns = /constraint failed: (.*)$/.exec((e as Error).message)?.[1] ?? '';
    throw new ThingsteadError(uniqueKinds[columns] ?? 'CONFLICT', undefined, { cause: e });
  }
}
