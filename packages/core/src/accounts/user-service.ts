import { requireReadable, requireWritable, targetTenant } from '../access';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import { newId } from '../ids';
import { pageQuery, type PageInput } from '../paging';
import type { Page, Store } from '../store';
import { checkPassword, cleanEmail } from '../validate';
import { publicUser, type PublicUser } from './auth-service';
import type { Principal, Role, User } from './model';
import { hashPassword } from './password';

export interface CreateUserInput {
  email: string;
  password: string;
  role: Role;
  tenantId?: string | undefined;
}

export interface UpdateUserInput {
  email?: string | undefined;
  password?: string | undefined;
  role?: Role | undefined;
  disabled?: boolean | undefined;
}

/** Inserts a user after the checks every path shares (email form and uniqueness, password strength). */
export async function insertUser(store: Store, clock: Clock, input: CreateUserInput & { tenantId: string }): Promise<User> {
  const email = cleanEmail(input.email);
  if (await store.users.findByEmail(email)) fail('EMAIL_TAKEN', `A user with email ${email} already exists.`);
  const user: User = {
    id: newId(),
    tenantId: input.tenantId,
    email,
    role: input.role,
    passwordHash: await hashPassword(checkPassword(input.password)),
    disabled: false,
    createdAt: clock.now(),
  };
  await store.users.insert(user);
  return user;
}

export class UserService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: EventBus,
  ) {}

  async create(p: Principal, input: CreateUserInput): Promise<PublicUser> {
    const tenantId = targetTenant(p, input.tenantId);
    requireWritable(p, await this.tenant(tenantId), 'Tenant');
    this.checkRoleGrant(p, input.role);
    return publicUser(await this.createUnchecked({ ...input, tenantId }));
  }

  /** Also used by the first-start bootstrap. */
  async createUnchecked(input: CreateUserInput & { tenantId: string }): Promise<User> {
    return insertUser(this.store, this.clock, input);
  }

  async list(p: Principal, input: PageInput & { tenantId?: string | undefined }): Promise<Page<PublicUser>> {
    const q = pageQuery(input, ['email', 'createdAt', 'role']);
    const tenantId = targetTenant(p, input.tenantId);
    const page = await this.store.users.list({ ...q, tenantId });
    return { ...page, items: page.items.map(publicUser) };
  }

  async get(p: Principal, id: string): Promise<PublicUser> {
    return publicUser(requireReadable(p, await this.store.users.get(id), 'User'));
  }

  async update(p: Principal, id: string, input: UpdateUserInput): Promise<PublicUser> {
    const self = p.userId === id;
    const user = await this.store.users.get(id);
    // Anyone may change their own email and password; changing others (or roles) needs tenant-admin.
    const target = self && input.role === undefined && input.disabled === undefined ? requireReadable(p, user, 'User') : requireWritable(p, user, 'User');
    const patch: Partial<Pick<User, 'email' | 'role' | 'passwordHash' | 'disabled'>> = {};
    if (input.email !== undefined) {
      const email = cleanEmail(input.email);
      const other = await this.store.users.findByEmail(email);
      if (other && other.id !== id) fail('EMAIL_TAKEN', `A user with email ${email} already exists.`);
      patch.email = email;
    }
    if (input.role !== undefined && input.role !== target.role) {
      this.checkRoleGrant(p, input.role);
      if (target.role === 'admin') await this.keepOneAdmin(target);
      patch.role = input.role;
    }
    if (input.disabled !== undefined && input.disabled !== target.disabled) {
      if (self) fail('FORBIDDEN', 'You cannot disable your own account.');
      if (target.role === 'admin') {
        if (p.role !== 'admin') fail('FORBIDDEN', 'Only a system administrator may disable a system administrator.');
        if (input.disabled) await this.keepOneAdmin(target);
      }
      patch.disabled = input.disabled;
    }
    if (input.password !== undefined) patch.passwordHash = await hashPassword(checkPassword(input.password));
    await this.store.users.update(id, patch);
    // A new password, role or disabling ends sessions that were opened before.
    if (patch.passwordHash !== undefined || patch.role !== undefined || patch.disabled === true)
      await this.store.refreshTokens.revokeAllOfUser(id, this.clock.now());
    // Live connections were authorized under the old role, or by a user who is now disabled.
    if (patch.disabled === true) await this.bus.publish('user.access', { userId: id, tenantId: target.tenantId, change: 'disabled' });
    else if (patch.role !== undefined) await this.bus.publish('user.access', { userId: id, tenantId: target.tenantId, change: 'role' });
    return publicUser({ ...target, ...patch });
  }

  async delete(p: Principal, id: string): Promise<void> {
    const target = requireWritable(p, await this.store.users.get(id), 'User');
    if (target.role === 'admin') {
      if (p.role !== 'admin') fail('FORBIDDEN', 'Only a system administrator may delete a system administrator.');
      await this.keepOneAdmin(target);
    }
    await this.store.users.delete(id);
    await this.bus.publish('user.access', { userId: id, tenantId: target.tenantId, change: 'deleted' });
  }

  private async tenant(id: string) {
    const t = await this.store.tenants.get(id);
    return t && { ...t, tenantId: t.id };
  }

  private checkRoleGrant(p: Principal, role: Role): void {
    if (role === 'admin' && p.role !== 'admin') fail('FORBIDDEN', 'Only a system administrator may grant the admin role.');
  }

  /** Refuses to remove (delete, demote, disable) the last enabled system administrator. */
  private async keepOneAdmin(target: User): Promise<void> {
    if (target.disabled) return;
    if ((await this.store.users.count({ role: 'admin', disabled: false })) <= 1)
      fail('LAST_ADMIN', 'This is the last enabled system administrator; create another one first.');
  }
}
