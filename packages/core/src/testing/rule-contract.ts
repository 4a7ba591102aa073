/** The rule cases of the storage contract (store-contract.ts runs them inside its suite). */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Tenant } from '../accounts/model';
import { maxRuleVersions, type Rule } from '../rules/model';
import type { Store } from '../store';

export interface RuleContractContext {
  it: (caseName: string, fn: () => Promise<void>) => void;
  store: () => Store;
  newTenant: (name: string) => Promise<Tenant>;
  t0: number;
}

export function ruleContract({ it, store, newTenant, t0 }: RuleContractContext): void {
  const rule = (tenantId: string, o: Partial<Rule> = {}): Rule => ({
    id: randomUUID(),
    tenantId,
    name: `rule ${randomUUID()}`,
    description: "it's 'quoted'; DROP TABLE rules; --",
    enabled: true,
    scope: { profileIds: ['p1'] },
    trigger: { type: 'telemetry', keys: ['temperature'] },
    condition: { type: 'threshold', key: 'temperature', op: '>', value: 30, hysteresis: 1.5 },
    actions: [{ type: 'alarm', alarmType: 'Hot', severity: 'MAJOR' }],
    version: 1,
    createdAt: t0,
    updatedAt: t0,
    disabledReason: null,
    ...o,
  });

  it('rules: stored as given, found by id and by name, versions kept newest first', async () => {
    const t = await newTenant(`rules-${randomUUID()}`);
    const r = rule(t.id);
    await store().rules.insert(r, 'user-1');
    assert.deepEqual(await store().rules.get(r.id), r);
    assert.deepEqual(await store().rules.findByName(t.id, r.name), r);
    assert.equal(await store().rules.findByName(t.id, 'nope'), undefined);
    const v2: Rule = {
      ...r,
      version: 2,
      enabled: false,
      updatedAt: t0 + 5,
      disabledReason: 'kept failing',
      condition: { type: 'expression', expression: 'temperature > 40' },
    };
    await store().rules.update(v2, 'engine');
    assert.deepEqual(await store().rules.get(r.id), v2);
    const versions = await store().rules.versions(r.id);
    assert.deepEqual(
      versions.map((v) => [v.version, v.createdBy, v.createdAt, v.document.enabled]),
      [
        [2, 'engine', t0 + 5, false],
        [1, 'user-1', t0, true],
      ],
    );
    assert.deepEqual(versions[1]?.document.condition, r.condition);
    assert.equal(Object.hasOwn(versions[0]?.document ?? {}, 'id'), false, 'a version holds the document only');
  });

  it('rules: a name is unique per tenant; listed by name with a total, by enabled and search; listEnabled spans tenants', async () => {
    const a = await newTenant(`rules-a-${randomUUID()}`);
    const b = await newTenant(`rules-b-${randomUUID()}`);
    await store().rules.insert(rule(a.id, { name: 'beta' }), 'u');
    await store().rules.insert(rule(a.id, { name: 'alpha', enabled: false }), 'u');
    await store().rules.insert(rule(a.id, { name: 'gamma%' }), 'u');
    await store().rules.insert(rule(b.id, { name: 'beta' }), 'u');
    await assert.rejects(store().rules.insert(rule(a.id, { name: 'beta' }), 'u'), (e: Error & { kind?: string }) => e.kind === 'RULE_NAME_TAKEN');
    const page = await store().rules.list({ tenantId: a.id, limit: 2, offset: 0 });
    assert.deepEqual(
      page.items.map((r) => r.name),
      ['alpha', 'beta'],
    );
    assert.equal(page.total, 3);
    assert.deepEqual(
      (await store().rules.list({ tenantId: a.id, enabled: true, limit: 10, offset: 0 })).items.map((r) => r.name),
      ['beta', 'gamma%'],
    );
    assert.deepEqual(
      (await store().rules.list({ tenantId: a.id, search: 'MA%', limit: 10, offset: 0 })).items.map((r) => r.name),
      ['gamma%'],
    );
    const enabled = (await store().rules.listEnabled()).filter((r) => r.tenantId === a.id || r.tenantId === b.id);
    assert.deepEqual(enabled.map((r) => r.name).sort(), ['beta', 'beta', 'gamma%']);
  });

  it('rules: the history keeps the newest maxRuleVersions versions', async () => {
    const t = await newTenant(`rules-v-${randomUUID()}`);
    const r = rule(t.id, { name: 'edited' });
    await store().rules.insert(r, 'u');
    for (let v = 2; v <= maxRuleVersions + 2; v++) await store().rules.update({ ...r, version: v, updatedAt: r.updatedAt + v }, 'u');
    const versions = await store().rules.versions(r.id);
    assert.equal(versions.length, maxRuleVersions);
    assert.deepEqual([versions[0]?.version, versions.at(-1)?.version], [maxRuleVersions + 2, 3]);
  });

  it('rules: deleted with their versions, and with their tenant', async () => {
    const t = await newTenant(`rules-del-${randomUUID()}`);
    const r = rule(t.id);
    const s = rule(t.id);
    await store().rules.insert(r, 'u');
    await store().rules.insert(s, 'u');
    await store().rules.delete(r.id);
    assert.equal(await store().rules.get(r.id), undefined);
    assert.deepEqual(await store().rules.versions(r.id), []);
    await store().tenants.delete(t.id);
    assert.equal(await store().rules.get(s.id), undefined);
    assert.deepEqual(await store().rules.versions(s.id), []);
  });
}
