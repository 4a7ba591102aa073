import type { Page, PageQuery } from '@thingstead/core';
import { likePattern, type Db } from './database';

export interface ListSpec<Row, T> {
  table: string;
  /** API sort name -> column. */
  sortColumns: Record<string, string>;
  searchColumn: string;
  /** Fixed filters, column -> value. */
  filters: Record<string, string | undefined>;
  map: (row: Row) => T;
}

/** One paged, sorted, searchable list query (plus its count) for any table. */
export function listPage<Row, T>(db: Db, q: PageQuery, spec: ListSpec<Row, T>): Page<T> {
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [col, value] of Object.entries(spec.filters)) {
    if (value === undefined) continue;
    where.push(`${col} = ?`);
    params.push(value);
  }
  if (q.search) {
    where.push(`${spec.searchColumn} LIKE ? ESCAPE '\\'`);
    params.push(likePattern(q.search));
  }
  const clause = where.length ? `WHERE ${where.join(' AND ')}` : '';
  const sort = spec.sortColumns[q.sort];
  if (!sort) throw new Error(`unsortable field ${q.sort}`);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const rows = db.prepare(`SELECT * FROM ${spec.table} ${clause} ORDER BY ${sort} ${dir}, id ${dir} LIMIT ? OFFSET ?`).all(...params, q.limit, q.offset) as Row[];
  const { n } = db.prepare(`SELECT COUNT(*) AS n FROM ${spec.table} ${clause}`).get(...params) as { n: number };
  return { items: rows.map(spec.map), total: n, limit: q.limit, offset: q.offset };
}
