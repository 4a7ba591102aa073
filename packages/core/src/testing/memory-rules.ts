import { ThingsteadError } from '../errors';
import { documentOf } from '../rules/document';
import { maxRuleVersions, type Rule, type RuleRepo, type RuleVersion } from '../rules/model';

/** The memory store's rules (see memory-store.ts); names are unique per tenant, as in SQL. */
export function createMemoryRules(o: { live: () => void }): RuleRepo & { forgetTenant(tenantId: string): void } {
  const rows = new Map<string, Rule>();
  const versions = new Map<string, RuleVersion[]>();
  const copy = (r: Rule): Rule => structuredClone(r);
  const nameTaken = (r: Rule) => [...rows.values()].some((x) => x.id !== r.id && x.tenantId === r.tenantId && x.name === r.name);
  const addVersion = (r: Rule, by: string) => {
    versions.set(
      r.id,
      [
        ...(versions.get(r.id) ?? []),
        { ruleId: r.id, version: r.version, document: structuredClone(documentOf(r)), createdAt: r.updatedAt, createdBy: by },
      ].filter((v) => v.version > r.version - maxRuleVersions),
    );
  };
  return {
    insert: async (r, by) => {
      o.live();
      if (rows.has(r.id)) throw new ThingsteadError('CONFLICT');
      if (nameTaken(r)) throw new ThingsteadError('RULE_NAME_TAKEN');
      rows.set(r.id, copy(r));
      addVersion(r, by);
    },
    get: async (id) => {
      o.live();
      const r = rows.get(id);
      return r && copy(r);
    },
    findByName: async (tenantId, name) => {
      o.live();
      const r = [...rows.values()].find((x) => x.tenantId === tenantId && x.name === name);
      return r && copy(r);
    },
    list: async (q) => {
      o.live();
      const search = q.search?.toLowerCase();
      const all = [...rows.values()]
        .filter(
          (r) =>
            r.tenantId === q.tenantId &&
            (q.enabled === undefined || r.enabled === q.enabled) &&
            (search === undefined || r.name.toLowerCase().includes(search)),
        )
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.id < b.id ? -1 : 1));
      return { items: all.slice(q.offset, q.offset + q.limit).map(copy), total: all.length };
    },
    listEnabled: async () => {
      o.live();
      return [...rows.values()].filter((r) => r.enabled).map(copy);
    },
    update: async (r, by) => {
      o.live();
      if (!rows.has(r.id)) return;
      if (nameTaken(r)) throw new ThingsteadError('RULE_NAME_TAKEN');
      rows.set(r.id, copy(r));
      addVersion(r, by);
    },
    delete: async (id) => {
      o.live();
      rows.delete(id);
      versions.delete(id);
    },
    versions: async (id) => {
      o.live();
      return structuredClone([...(versions.get(id) ?? [])].reverse());
    },
    forgetTenant: (tenantId) => {
      for (const r of [...rows.values()])
        if (r.tenantId === tenantId) {
          rows.delete(r.id);
          versions.delete(r.id);
        }
    },
  };
}
