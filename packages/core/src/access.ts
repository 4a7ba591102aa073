import type { Principal } from './accounts/model';
import { fail } from './errors';

/**
 * Tenancy and roles, enforced in core (DESIGN.md invariant 3). A resource of another tenant is reported as
 * not found, so callers cannot probe which ids exist elsewhere.
 */
export function canRead(p: Principal, tenantId: string): boolean {
  return p.role === 'admin' || p.tenantId === tenantId;
}

export function canWrite(p: Principal, tenantId: string): boolean {
  return p.role === 'admin' || (p.role === 'tenant-admin' && p.tenantId === tenantId);
}

export function requireReadable<T extends { tenantId: string }>(p: Principal, entity: T | undefined, what: string): T {
  if (!entity || !canRead(p, entity.tenantId)) return fail('NOT_FOUND', `${what} not found.`);
  return entity;
}

export function requireWritable<T extends { tenantId: string }>(p: Principal, entity: T | undefined, what: string): T {
  const e = requireReadable(p, entity, what);
  if (!canWrite(p, e.tenantId)) fail('FORBIDDEN', `Your role (${p.role}) may not change this ${what.toLowerCase()}.`);
  return e;
}

export function requireAdmin(p: Principal): void {
  if (p.role !== 'admin') fail('FORBIDDEN', 'Only a system administrator may do this.');
}

/** The tenant a list or create acts on: a system admin may name any tenant, others only their own. */
export function targetTenant(p: Principal, requested: string | undefined): string {
  if (requested === undefined || requested === p.tenantId) return p.tenantId;
  if (p.role !== 'admin') fail('NOT_FOUND', 'Tenant not found.');
  return requested;
}

export function requireTenantWriter(p: Principal, tenantId: string): void {
  if (!canWrite(p, tenantId)) fail('FORBIDDEN', `Your role (${p.role}) may not change resources of this tenant.`);
}
