import { documentOf, maxRuleVersions, ThingsteadError, type Rule, type RuleDocument, type RuleRepo, type RuleVersion } from '@thingstead/core';
import { likePattern, type Db } from './database';
import { stmt } from './sql';

interface Row {
  id: string;
  tenant_id: string;
  version: number;
  document: string;
  created_at: number;
  updated_at: number;
  disabled_reason: string | null;
}

function toRule(r: Row): Rule {
  return {
    ...(JSON.parse(r.document) as RuleDocument),
    id: r.id,
    tenantId: r.tenant_id,
    version: r.version,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    disabledReason: r.disabled_reason,
  };
}

function nameTaken(e: unknown): never {
  if (e instanceof Error && 'code' in e && e.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    throw new ThingsteadError(e.message.includes('rules.name') ? 'RULE_NAME_TAKEN' : 'CONFLICT', undefined, { cause: e });
  }
  throw e;
}

/** Rules: the document as JSON next to the columns lists filter on; every save also appends to rule_versions. */
export function ruleRepo(db: Db): RuleRepo {
  const insert = db.prepare(
    'INSERT INTO rules (id, tenant_id, name, enabled, version, document, created_at, updated_at, disabled_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const update = db.prepare('UPDATE rules SET name = ?, enabled = ?, version = ?, document = ?, updated_at = ?, disabled_reason = ? WHERE id = ?');
  const addVersion = db.prepare('INSERT INTO rule_versions (rule_id, version, document, created_at, created_by) VALUES (?, ?, ?, ?, ?)');
  const pruneVersions = db.prepare('DELETE FROM rule_versions WHERE rule_id = ? AND version <= ?');
  const columns = 'id, tenant_id, version, document, created_at, updated_at, disabled_reason';
  const save = db.transaction((r: Rule, by: string, isNew: boolean) => {
    const doc = JSON.stringify(documentOf(r));
    if (isNew) insert.run(r.id, r.tenantId, r.name, r.enabled ? 1 : 0, r.version, doc, r.createdAt, r.updatedAt, r.disabledReason);
    else if (update.run(r.name, r.enabled ? 1 : 0, r.version, doc, r.updatedAt, r.disabledReason, r.id).changes === 0) return;
    addVersion.run(r.id, r.version, doc, r.updatedAt, by);
    if (r.version > maxRuleVersions) pruneVersions.run(r.id, r.version - maxRuleVersions);
  });
  return {
    insert: async (r, by) => {
      try {
        save(r, by, true);
      } catch (e) {
        nameTaken(e);
      }
    },
    update: async (r, by) => {
      try {
        save(r, by, false);
      } catch (e) {
        nameTaken(e);
      }
    },
    get: async (id) => {
      const row = stmt(db, `SELECT ${columns} FROM rules WHERE id = ?`).get(id) as Row | undefined;
      return row && toRule(row);
    },
    findByName: async (tenantId, name) => {
      const row = stmt(db, `SELECT ${columns} FROM rules WHERE tenant_id = ? AND name = ?`).get(tenantId, name) as Row | undefined;
      return row && toRule(row);
    },
    list: async (q) => {
      const where = ['tenant_id = ?'];
      const args: unknown[] = [q.tenantId];
      if (q.enabled !== undefined) {
        where.push('enabled = ?');
        args.push(q.enabled ? 1 : 0);
      }
      if (q.search !== undefined) {
        where.push("name LIKE ? ESCAPE '\\'");
        args.push(likePattern(q.search));
      }
      const w = where.join(' AND ');
      const items = (stmt(db, `SELECT ${columns} FROM rules WHERE ${w} ORDER BY name, id LIMIT ? OFFSET ?`).all(...args, q.limit, q.offset) as Row[]).map(
        toRule,
      );
      const total = (stmt(db, `SELECT COUNT(*) AS n FROM rules WHERE ${w}`).get(...args) as { n: number }).n;
      return { items, total };
    },
    listEnabled: async () => (stmt(db, `SELECT ${columns} FROM rules WHERE enabled = 1`).all() as Row[]).map(toRule),
    delete: async (id) => {
      stmt(db, 'DELETE FROM rules WHERE id = ?').run(id);
    },
    versions: async (id) =>
      (
        stmt(db, 'SELECT rule_id, version, document, created_at, created_by FROM rule_versions WHERE rule_id = ? ORDER BY version DESC').all(id) as {
          rule_id: string;
          version: number;
          document: string;
          created_at: number;
          created_by: string;
        }[]
      ).map((v): RuleVersion => ({
        ruleId: v.rule_id,
        version: v.version,
        document: JSON.parse(v.document) as RuleDocument,
        createdAt: v.created_at,
        createdBy: v.created_by,
      })),
  };
}
