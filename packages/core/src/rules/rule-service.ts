import { requireReadable, requireTenantWriter, requireWritable, targetTenant } from '../access';
import type { Principal } from '../accounts/model';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import { newId } from '../ids';
import type { Store } from '../store';
import { compileRule, type CompiledRule } from './compile-rule';
import { documentOf } from './document';
import { maxRulesPerTenant, type Rule, type RuleDocument, type RuleVersion } from './model';
import { replayRule, type ReplayInput, type ReplayResult } from './replay';
import type { RuleEngine } from './rule-engine';
import type { RuleStats, TraceEntry } from './rule-trace';
import { validateRule } from './validate-rule';

/** A rule as the API shows it: the stored rule with what the engine counted since it was loaded. */
export type RuleView = Rule & { stats: RuleStats | null };

/** The file format of export and import (config as code). */
export interface RuleExport {
  format: 'thingstead.rules';
  version: 1;
  exportedAt: number;
  rules: RuleDocument[];
}

export interface RuleServiceOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  engine: RuleEngine;
}

/** Validates a document and compiles its expressions: every problem at its field, or RULE_INVALID. */
function checked(input: unknown): RuleDocument {
  const withDefault = input && typeof input === 'object' && !Array.isArray(input) ? { enabled: true, ...input } : input;
  const problems = validateRule(withDefault);
  if (problems.length > 0) {
    fail('RULE_INVALID', `The rule is invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}.`, { problems });
  }
  return documentOf({ ...(withDefault as RuleDocument), enabled: (withDefault as RuleDocument).enabled });
}

/**
 * Rules as data: create, change (each save a new version in the history), enable, delete, export and import;
 * the engine is told of every change. Tenant admins write, viewers read.
 */
export class RuleService {
  constructor(private readonly o: RuleServiceOptions) {}

  async create(p: Principal, input: unknown, tenantId?: string): Promise<RuleView> {
    const tenant = targetTenant(p, tenantId);
    requireTenantWriter(p, tenant);
    const doc = checked(input);
    compileRule(doc, { id: 'check', tenantId: tenant, version: 1 });
    if (await this.o.store.rules.findByName(tenant, doc.name)) fail('RULE_NAME_TAKEN', `A rule named "${doc.name}" exists already.`, { field: 'name' });
    await this.requireRoom(tenant, 1);
    const now = this.o.clock.now();
    const rule: Rule = { ...doc, id: newId(), tenantId: tenant, version: 1, createdAt: now, updatedAt: now, disabledReason: null };
    await this.o.store.rules.insert(rule, p.userId);
    this.o.engine.upsert(rule);
    await this.o.bus.publish('rule.changed', { tenantId: tenant, ruleId: rule.id, version: 1, change: 'created', reason: null });
    return this.view(rule);
  }

  async get(p: Principal, id: string): Promise<RuleView> {
    return this.view(requireReadable(p, await this.o.store.rules.get(id), 'Rule'));
  }

  async list(p: Principal, q: { tenantId?: string; enabled?: boolean; search?: string; limit: number; offset: number }) {
    const tenantId = targetTenant(p, q.tenantId);
    const page = await this.o.store.rules.list({ ...q, tenantId });
    return { items: page.items.map((r) => this.view(r)), total: page.total };
  }

  /** Replaces the document; `expectedVersion`, when given, must be the stored version (409 otherwise). */
  async update(p: Principal, id: string, input: unknown, expectedVersion?: number): Promise<RuleView> {
    const current = requireWritable(p, await this.o.store.rules.get(id), 'Rule');
    if (expectedVersion !== undefined && expectedVersion !== current.version) {
      fail('CONFLICT', `The rule is at version ${current.version}, not ${expectedVersion}; read it again and apply your change.`, { field: 'version' });
    }
    const doc = checked(input);
    compileRule(doc, { id, tenantId: current.tenantId, version: current.version + 1 });
    if (doc.name !== current.name) {
      const other = await this.o.store.rules.findByName(current.tenantId, doc.name);
      if (other && other.id !== id) fail('RULE_NAME_TAKEN', `A rule named "${doc.name}" exists already.`, { field: 'name' });
    }
    return this.save(current, doc, p.userId, null);
  }

  async setEnabled(p: Principal, id: string, enabled: boolean): Promise<RuleView> {
    const current = requireWritable(p, await this.o.store.rules.get(id), 'Rule');
    if (current.enabled === enabled && current.disabledReason === null) return this.view(current);
    return this.save(current, { ...documentOf(current), enabled }, p.userId, null);
  }

  async delete(p: Principal, id: string): Promise<void> {
    const current = requireWritable(p, await this.o.store.rules.get(id), 'Rule');
    await this.o.store.rules.delete(id);
    this.o.engine.unload(id);
    await this.o.bus.publish('rule.changed', { tenantId: current.tenantId, ruleId: id, version: current.version, change: 'deleted', reason: null });
  }

  async versions(p: Principal, id: string): Promise<RuleVersion[]> {
    requireReadable(p, await this.o.store.rules.get(id), 'Rule');
    return this.o.store.rules.versions(id);
  }

  async trace(p: Principal, id: string): Promise<TraceEntry[]> {
    requireReadable(p, await this.o.store.rules.get(id), 'Rule');
    return this.o.engine.trace(id) ?? [];
  }

  async export(p: Principal, tenantId?: string): Promise<RuleExport> {
    const tenant = targetTenant(p, tenantId);
    const rules: RuleDocument[] = [];
    for (let offset = 0; ; offset += 500) {
      const page = await this.o.store.rules.list({ tenantId: tenant, limit: 500, offset });
      rules.push(...page.items.map(documentOf));
      if (page.items.length < 500) break;
    }
    return { format: 'thingstead.rules', version: 1, exportedAt: this.o.clock.now(), rules };
  }

  /**
   * Imports a file of export(): a rule whose name exists is updated (a new version), others are created. All
   * documents are checked first; one invalid document refuses the whole file with its index in each path.
   */
  async import(p: Principal, file: unknown, tenantId?: string): Promise<{ created: number; updated: number; unchanged: number }> {
    const tenant = targetTenant(p, tenantId);
    requireTenantWriter(p, tenant);
    const f = file as Partial<RuleExport> | null;
    if (!f || typeof f !== 'object' || f.format !== 'thingstead.rules' || f.version !== 1 || !Array.isArray(f.rules)) {
      fail('RULE_INVALID', 'Not a rules file: expected {"format":"thingstead.rules","version":1,"rules":[...]}.', {
        problems: [{ path: '/format', message: 'must be thingstead.rules (version 1)' }],
      });
    }
    const docs = f.rules.map((r, i) => {
      try {
        return checked(r);
      } catch (e) {
        const problems = ((e as { details?: { problems?: { path: string; message: string }[] } }).details?.problems ?? []).map((x) => ({
          path: `/rules/${i}${x.path === '/' ? '' : x.path}`,
          message: x.message,
        }));
        return fail('RULE_INVALID', `Rule ${i} of the file is invalid: ${problems.map((x) => `${x.path} ${x.message}`).join('; ')}.`, { problems });
      }
    });
    const names = new Set<string>();
    docs.forEach((d, i) => {
      if (names.has(d.name))
        fail('RULE_INVALID', `Two rules of the file are named "${d.name}".`, {
          problems: [{ path: `/rules/${i}/name`, message: 'is used twice in the file' }],
        });
      names.add(d.name);
    });
    // The whole file fits or nothing of it is written.
    let fresh = 0;
    for (const doc of docs) if (!(await this.o.store.rules.findByName(tenant, doc.name))) fresh++;
    await this.requireRoom(tenant, fresh);
    let created = 0;
    let updated = 0;
    let unchanged = 0;
    for (const doc of docs) {
      const existing = await this.o.store.rules.findByName(tenant, doc.name);
      if (!existing) {
        await this.create(p, doc, tenant);
        created++;
      } else if (JSON.stringify(documentOf(existing)) === JSON.stringify(doc)) unchanged++;
      else {
        await this.save(existing, doc, p.userId, null);
        updated++;
      }
    }
    return { created, updated, unchanged };
  }

  /** Runs a saved rule (ruleId) or a draft over stored telemetry without acting (replay.ts). */
  async test(p: Principal, input: Omit<ReplayInput, 'rule' | 'tenantId'> & { rule?: unknown; ruleId?: string; tenantId?: string }): Promise<ReplayResult> {
    let doc: RuleDocument;
    let tenant: string;
    if (input.ruleId !== undefined) {
      const r = requireReadable(p, await this.o.store.rules.get(input.ruleId), 'Rule');
      doc = documentOf(r);
      tenant = r.tenantId;
    } else {
      if (input.rule === undefined) fail('VALIDATION', 'Give the rule to test (rule) or the id of a saved one (ruleId).', { field: 'rule' });
      doc = checked(input.rule);
      tenant = targetTenant(p, input.tenantId);
    }
    return replayRule({ store: this.o.store }, { ...input, rule: doc, tenantId: tenant });
  }

  private async requireRoom(tenantId: string, adding: number): Promise<void> {
    if (adding === 0) return;
    const { total } = await this.o.store.rules.list({ tenantId, limit: 1, offset: 0 });
    if (total + adding > maxRulesPerTenant)
      fail('LIMIT_REACHED', `This tenant has ${total} rules; ${adding} more would pass the ${maxRulesPerTenant} it may have. Delete unused rules first.`);
  }

  /** The engine gave up on a rule: store it disabled with the reason, as a version by 'engine'. */
  async disableFailing(rule: CompiledRule, reason: string): Promise<void> {
    const current = await this.o.store.rules.get(rule.id);
    if (!current || current.version !== rule.version) return;
    await this.save(current, { ...documentOf(current), enabled: false }, 'engine', reason);
  }

  private async save(current: Rule, doc: RuleDocument, by: string, disabledReason: string | null): Promise<RuleView> {
    const rule: Rule = {
      ...doc,
      id: current.id,
      tenantId: current.tenantId,
      version: current.version + 1,
      createdAt: current.createdAt,
      updatedAt: this.o.clock.now(),
      disabledReason,
    };
    await this.o.store.rules.update(rule, by);
    this.o.engine.upsert(rule);
    await this.o.bus.publish('rule.changed', {
      tenantId: rule.tenantId,
      ruleId: rule.id,
      version: rule.version,
      change: disabledReason === null ? 'updated' : 'disabled',
      reason: disabledReason,
    });
    return this.view(rule);
  }

  private view(rule: Rule): RuleView {
    return { ...rule, stats: this.o.engine.stats(rule.id) ?? null };
  }
}
