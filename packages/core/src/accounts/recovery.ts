import type { Clock } from '../clock';
import { fail } from '../errors';
import type { Store } from '../store';
import { checkPassword, cleanEmail } from '../validate';
import { defaultTenantName } from './bootstrap';
import type { Role } from './model';
import { insertUser } from './user-service';
import { generatePassword, hashPassword } from './password';

/**
 * What an operator does on a stopped installation from the command line (`thingstead admin ...`): no principal,
 * because whoever can run it can read the data directory anyway. A password left out is generated and returned
 * to be shown once.
 */
export interface RecoveryDeps {
  store: Store;
  clock: Clock;
}

export interface RecoveredCredentials {
  email: string;
  /** Set when the password was generated. */
  generatedPassword?: string;
  disabled: boolean;
}

/** Sets a user's password and ends every session the user had; the account's role and state stay. */
export async function resetPassword(d: RecoveryDeps, input: { email: string; password?: string | undefined }): Promise<RecoveredCredentials> {
  const email = cleanEmail(input.email);
  const user = await d.store.users.findByEmail(email);
  if (!user) fail('NOT_FOUND', `No user has the email ${email}.`);
  const generated = input.password === undefined ? generatePassword() : undefined;
  await d.store.users.update(user.id, { passwordHash: await hashPassword(checkPassword(input.password ?? generated ?? '')) });
  await d.store.refreshTokens.revokeAllOfUser(user.id, d.clock.now());
  return { email, disabled: user.disabled, ...(generated === undefined ? {} : { generatedPassword: generated }) };
}

/** Creates a user in a tenant given by name (the default tenant unless named). */
export async function createUserOffline(
  d: RecoveryDeps,
  input: { email: string; role: Role; tenantName?: string | undefined; password?: string | undefined },
): Promise<RecoveredCredentials & { tenant: string }> {
  const tenantName = input.tenantName ?? defaultTenantName;
  const tenant = await d.store.tenants.findByName(tenantName);
  if (!tenant) fail('NOT_FOUND', `No tenant is named ${tenantName}.`);
  const generated = input.password === undefined ? generatePassword() : undefined;
  const { email } = await insertUser(d.store, d.clock, {
    email: input.email,
    role: input.role,
    tenantId: tenant.id,
    password: input.password ?? generated ?? '',
  });
  return { email, tenant: tenant.name, disabled: false, ...(generated === undefined ? {} : { generatedPassword: generated }) };
}
