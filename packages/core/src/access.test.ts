import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canRead, canWrite, requireAdmin, requireReadable, requireTenantWriter, requireWritable, targetTenant } from './access';
import { isThingsteadError, type ErrorName } from './errors';
import { principal } from './testing/test-core';

const kindOf = (f: () => unknown): ErrorName | 'ok' => {
  try {
    f();
    return 'ok';
  } catch (e) {
    assert.ok(isThingsteadError(e));
    return e.kind;
  }
};

const admin = principal('home', 'admin');
const tenantAdmin = principal('t1', 'tenant-admin');
const viewer = principal('t1', 'viewer');
const own = { id: 'x', tenantId: 't1' };
const foreign = { id: 'y', tenantId: 't2' };

test('a system admin reads and writes every tenant; a tenant admin writes only its own; a viewer only reads its own', () => {
  assert.deepEqual([canRead(admin, 't2'), canWrite(admin, 't2')], [true, true]);
  assert.deepEqual(
    [canRead(tenantAdmin, 't1'), canWrite(tenantAdmin, 't1'), canRead(tenantAdmin, 't2'), canWrite(tenantAdmin, 't2')],
    [true, true, false, false],
  );
  assert.deepEqual([canRead(viewer, 't1'), canWrite(viewer, 't1'), canRead(viewer, 't2')], [true, false, false]);
});

test("another tenant's resource is NOT_FOUND, exactly like a missing one (DESIGN.md invariant 3); a viewer writing is FORBIDDEN", () => {
  assert.equal(requireReadable(viewer, own, 'Device'), own);
  assert.equal(
    kindOf(() => requireReadable(viewer, foreign, 'Device')),
    'NOT_FOUND',
  );
  assert.equal(
    kindOf(() => requireReadable(viewer, undefined, 'Device')),
    'NOT_FOUND',
  );
  assert.equal(
    kindOf(() => requireWritable(tenantAdmin, foreign, 'Device')),
    'NOT_FOUND',
    'not FORBIDDEN: that would tell the id exists',
  );
  assert.equal(
    kindOf(() => requireWritable(viewer, own, 'Device')),
    'FORBIDDEN',
  );
  assert.equal(requireWritable(tenantAdmin, own, 'Device'), own);
  assert.equal(requireWritable(admin, foreign, 'Device'), foreign);
});

test('targetTenant: a system admin may name any tenant, others only their own (another is NOT_FOUND)', () => {
  assert.equal(targetTenant(viewer, undefined), 't1');
  assert.equal(targetTenant(viewer, 't1'), 't1');
  assert.equal(
    kindOf(() => targetTenant(tenantAdmin, 't2')),
    'NOT_FOUND',
  );
  assert.equal(targetTenant(admin, 't2'), 't2');
});

test('requireAdmin and requireTenantWriter refuse with FORBIDDEN', () => {
  assert.equal(
    kindOf(() => {
      requireAdmin(tenantAdmin);
    }),
    'FORBIDDEN',
  );
  assert.equal(
    kindOf(() => {
      requireAdmin(admin);
    }),
    'ok',
  );
  assert.equal(
    kindOf(() => {
      requireTenantWriter(viewer, 't1');
    }),
    'FORBIDDEN',
  );
  assert.equal(
    kindOf(() => {
      requireTenantWriter(tenantAdmin, 't2');
    }),
    'FORBIDDEN',
  );
  assert.equal(
    kindOf(() => {
      requireTenantWriter(tenantAdmin, 't1');
    }),
    'ok',
  );
});
