import type { Store } from '../store';
import { generatePassword } from './password';
import type { TenantService } from './tenant-service';
import type { UserService } from './user-service';

export interface BootstrapResult {
  /** Set only on the first start, when the admin was created. */
  admin?: { email: string; tenantId: string; generatedPassword?: string };
}

export const defaultTenantName = 'Default';

/**
 * First start (DESIGN.md invariant 7): creates the default tenant and the system admin. There is no default
 * password: either the operator gives one, or a strong one is generated and returned to be printed once.
 */
export async function bootstrap(
  deps: { store: Store; tenants: TenantService; users: UserService },
  admin: { email: string; password?: string | undefined },
): Promise<BootstrapResult> {
  if ((await deps.store.users.count({ role: 'admin' })) > 0) return {};
  const tenant = (await deps.store.tenants.findByName(defaultTenantName)) ?? (await deps.tenants.createUnchecked(defaultTenantName));
  const generated = admin.password === undefined ? generatePassword() : undefined;
  const user = await deps.users.createUnchecked({
    email: admin.email,
    password: admin.password ?? generated ?? '',
    role: 'admin',
    tenantId: tenant.id,
  });
  return { admin: { email: user.email, tenantId: tenant.id, ...(generated === undefined ? {} : { generatedPassword: generated }) } };
}
