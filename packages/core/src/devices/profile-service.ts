import { requireReadable, requireTenantWriter, requireWritable, targetTenant } from '../access';
import type { Principal } from '../accounts/model';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail, isThingsteadError } from '../errors';
import { newId } from '../ids';
import { pageQuery, type PageInput } from '../paging';
import type { Page, Store } from '../store';
import { cleanName, jsonObject, wellFormed } from '../validate';
import { defaultInactivityTimeoutSec, maxInactivityTimeoutSec, type DeviceProfile } from './model';

export interface ProfileInput {
  name: string;
  description?: string | undefined;
  defaultSettings?: Record<string, unknown> | undefined;
  inactivityTimeoutSec?: number | undefined;
  tenantId?: string | undefined;
}

const maxSettingsBytes = 64 * 1024;

export class ProfileService {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly bus: EventBus,
  ) {}

  async create(p: Principal, input: ProfileInput): Promise<DeviceProfile> {
    const tenantId = targetTenant(p, input.tenantId);
    requireTenantWriter(p, tenantId);
    const name = cleanName(input.name);
    if (await this.store.profiles.findByName(tenantId, name)) fail('PROFILE_NAME_TAKEN', `A device profile named "${name}" already exists.`);
    const profile: DeviceProfile = {
      id: newId(),
      tenantId,
      name,
      description: description(input.description),
      defaultSettings: jsonObject(input.defaultSettings ?? {}, 'defaultSettings', maxSettingsBytes),
      inactivityTimeoutSec: inactivityTimeout(input.inactivityTimeoutSec ?? defaultInactivityTimeoutSec),
      isDefault: false,
      createdAt: this.clock.now(),
    };
    await this.store.profiles.insert(profile);
    return profile;
  }

  /**
   * The profile a gateway names as a child's type (ThingsBoard's device type): the tenant's profile of that name,
   * created when missing; no type is the tenant's default profile.
   */
  async forGateway(tenantId: string, type: string | undefined): Promise<DeviceProfile> {
    if (type === undefined) return (await this.store.profiles.findDefault(tenantId)) ?? fail('NOT_FOUND', 'This tenant has no default device profile.');
    const name = cleanName(type, 'type');
    const existing = await this.store.profiles.findByName(tenantId, name);
    if (existing) return existing;
    const profile: DeviceProfile = {
      id: newId(),
      tenantId,
      name,
      description: '',
      defaultSettings: {},
      isDefault: false,
      createdAt: this.clock.now(),
      inactivityTimeoutSec: defaultInactivityTimeoutSec,
    };
    try {
      await this.store.profiles.insert(profile);
    } catch (e) {
      // Another child of the same new type, created at the same moment.
      const winner = isThingsteadError(e) && e.kind === 'PROFILE_NAME_TAKEN' ? await this.store.profiles.findByName(tenantId, name) : undefined;
      if (winner) return winner;
      throw e;
    }
    return profile;
  }

  async list(p: Principal, input: PageInput & { tenantId?: string | undefined }): Promise<Page<DeviceProfile>> {
    return this.store.profiles.list({ ...pageQuery(input, ['name', 'createdAt']), tenantId: targetTenant(p, input.tenantId) });
  }

  async get(p: Principal, id: string): Promise<DeviceProfile> {
    return requireReadable(p, await this.store.profiles.get(id), 'Device profile');
  }

  async update(p: Principal, id: string, input: Partial<Omit<ProfileInput, 'tenantId'>>): Promise<DeviceProfile> {
    const profile = requireWritable(p, await this.store.profiles.get(id), 'Device profile');
    const patch: Partial<Pick<DeviceProfile, 'name' | 'description' | 'defaultSettings' | 'inactivityTimeoutSec'>> = {};
    if (input.name !== undefined) {
      patch.name = cleanName(input.name);
      const other = await this.store.profiles.findByName(profile.tenantId, patch.name);
      if (other && other.id !== id) fail('PROFILE_NAME_TAKEN', `A device profile named "${patch.name}" already exists.`);
    }
    if (input.description !== undefined) patch.description = description(input.description);
    if (input.defaultSettings !== undefined) patch.defaultSettings = jsonObject(input.defaultSettings, 'defaultSettings', maxSettingsBytes);
    if (input.inactivityTimeoutSec !== undefined) patch.inactivityTimeoutSec = inactivityTimeout(input.inactivityTimeoutSec);
    await this.store.profiles.update(id, patch);
    // Connectivity (on every node) reschedules the inactivity deadlines of this profile's devices.
    if (patch.inactivityTimeoutSec !== undefined && patch.inactivityTimeoutSec !== profile.inactivityTimeoutSec)
      await this.bus.publish('profile.updated', { profileId: id, tenantId: profile.tenantId });
    return { ...profile, ...patch };
  }

  async delete(p: Principal, id: string): Promise<void> {
    const profile = requireWritable(p, await this.store.profiles.get(id), 'Device profile');
    if (profile.isDefault) fail('DEFAULT_PROFILE');
    const n = await this.store.profiles.countDevices(id);
    if (n > 0) fail('IN_USE', `${n} device(s) still use this profile; move them to another profile first.`);
    await this.store.profiles.delete(id);
  }
}

function inactivityTimeout(v: number): number {
  if (!Number.isInteger(v) || v < 1 || v > maxInactivityTimeoutSec)
    fail('VALIDATION', `inactivityTimeoutSec must be a whole number of seconds from 1 to ${maxInactivityTimeoutSec}.`, { field: 'inactivityTimeoutSec' });
  return v;
}

function description(v: string | undefined): string {
  const d = (v ?? '').trim();
  if (d.length > 4096) fail('VALIDATION', 'description must be at most 4096 characters.', { field: 'description' });
  return wellFormed(d, 'description');
}
