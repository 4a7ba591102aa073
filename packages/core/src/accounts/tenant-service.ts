import { requireAdmin, requireReadable } from '../access';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import { newId } from '../ids';
import { pageQuery, type PageInput } from '../paging';
import type { Page, Store } from '../store';
import { cleanName } from '../validate';
import { defaultInactivityTimeoutSec } from '../devices/model';
import type { Principal, Tenant } from './model';

export const defaultProfileName = 'default';

export class TenantService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: EventBus,
  ) {}

  async create(p: Principal, input: { name: string }): Promise<Tenant> {
    requireAdmin(p);
    return this.createUnchecked(input.name);
  }

  /** Also used by the first-start bootstrap, before any principal exists. */
  async createUnchecked(rawName: string): Promise<Tenant> {
    const name = cleanName(rawName);
    if (await this.store.tenants.findByName(name)) fail('TENANT_NAME_TAKEN', `A tenant named "${name}" already exists.`);
    const now = this.clock.now();
    const tenant: Tenant = { id: newId(), name, createdAt: now };
    await this.store.tenants.insert(tenant);
    // Every tenant starts with a default device profile, so a device can be created without one.
    await this.store.profiles.insert({
      id: newId(),
      tenantId: tenant.id,
      name: defaultProfileName,
      description: 'Default device profile',
      defaultSettings: {},
      inactivityTimeoutSec: defaultInactivityTimeoutSec,
      isDefault: true,
      createdAt: now,
    });
    return tenant;
  }

  async list(p: Principal, input: PageInput): Promise<Page<Tenant>> {
    const q = pageQuery(input, ['name', 'createdAt']);
    if (p.role === 'admin') return this.store.tenants.list(q);
    const own = await this.store.tenants.get(p.tenantId);
    const items = own && (!q.search || own.name.toLowerCase().includes(q.search.toLowerCase())) ? [own] : [];
    return { items: items.slice(q.offset, q.offset + q.limit), total: items.length, limit: q.limit, offset: q.offset };
  }

  async get(p: Principal, id: string): Promise<Tenant> {
    const t = await this.store.tenants.get(id);
    return requireReadable(p, t && { ...t, tenantId: t.id }, 'Tenant');
  }

  async update(p: Principal, id: string, patch: { name?: string | undefined }): Promise<Tenant> {
    requireAdmin(p);
    const t = await this.get(p, id);
    if (patch.name !== undefined) {
      const name = cleanName(patch.name);
      const other = await this.store.tenants.findByName(name);
      if (other && other.id !== id) fail('TENANT_NAME_TAKEN', `A tenant named "${name}" already exists.`);
      await this.store.tenants.update(id, { name });
      return { ...t, name };
    }
    return t;
  }

  async delete(p: Principal, id: string): Promise<void> {
    requireAdmin(p);
    await this.get(p, id);
    if (id === p.tenantId || (await this.store.users.count({ role: 'admin', tenantId: id })) > 0) {
      fail('TENANT_HAS_ADMIN', 'This tenant is the home of a system administrator and cannot be deleted.');
    }
    await this.store.tenants.delete(id);
    await this.bus.publish('tenant.deleted', { tenantId: id });
  }
}
