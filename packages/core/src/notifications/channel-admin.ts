import { randomUUID } from 'node:crypto';
import { canRead, requireReadable, requireTenantWriter, requireWritable, targetTenant } from '../access';
import type { Principal } from '../accounts/model';
import type { Clock } from '../clock';
import { fail } from '../errors';
import type { Store } from '../store';
import { channelTypes, type ChannelConfigs, type ChannelType, type ChannelView, type NotificationLimits, type StoredChannel } from './model';
import { channelConfig, channelName } from './validate-channel';
import { channelView } from './views';

export interface ChannelInput {
  name: string;
  type: ChannelType;
  config: unknown;
  enabled?: boolean | undefined;
  /** System admins only: create it in another tenant. */
  tenantId?: string | undefined;
}

export interface ChannelUpdate {
  name?: string | undefined;
  /** When given, it must be the channel's type (a channel never changes type). */
  type?: ChannelType | undefined;
  config?: unknown;
  enabled?: boolean | undefined;
}

/** Channel CRUD with tenant and role checks: tenant admins write, every user of the tenant reads. */
export class ChannelAdmin {
  constructor(private readonly o: { store: Store; clock: Clock; limits: NotificationLimits }) {}

  readableTenant(p: Principal, requested: string | undefined): string {
    const tenantId = targetTenant(p, requested);
    if (!canRead(p, tenantId)) fail('NOT_FOUND', 'Tenant not found.');
    return tenantId;
  }

  async list(p: Principal, requested: string | undefined): Promise<ChannelView[]> {
    return (await this.o.store.notifications.listChannels(this.readableTenant(p, requested))).map(channelView);
  }

  async get(p: Principal, id: string): Promise<ChannelView> {
    return channelView(requireReadable(p, await this.o.store.notifications.getChannel(id), 'Notification channel'));
  }

  async writable(p: Principal, id: string): Promise<StoredChannel> {
    return requireWritable(p, await this.o.store.notifications.getChannel(id), 'Notification channel');
  }

  async create(p: Principal, input: ChannelInput): Promise<ChannelView> {
    const tenantId = targetTenant(p, input.tenantId);
    requireTenantWriter(p, tenantId);
    if (!(channelTypes as readonly unknown[]).includes(input.type))
      fail('NOTIFICATION_CHANNEL_INVALID', `Invalid channel: type must be one of ${channelTypes.join(', ')}.`, { problems: ['type'] });
    const name = channelName(input.name);
    const config = channelConfig(input.type, input.config);
    await this.checkUsers(tenantId, input.type, config);
    const count = await this.o.store.notifications.countChannels(tenantId);
    if (count >= this.o.limits.maxChannelsPerTenant)
      fail('LIMIT_REACHED', `This tenant has ${count} notification channels, the most it may have; delete one first.`);
    const now = this.o.clock.now();
    const c = { id: randomUUID(), tenantId, name, type: input.type, config, enabled: input.enabled ?? true, createdAt: now, updatedAt: now } as StoredChannel;
    await this.o.store.notifications.insertChannel(c);
    return channelView(c);
  }

  async update(p: Principal, id: string, input: ChannelUpdate, mode: 'replace' | 'merge'): Promise<ChannelView> {
    const c = await this.writable(p, id);
    if (input.type !== undefined && input.type !== c.type)
      fail('NOTIFICATION_CHANNEL_INVALID', `Invalid channel: type cannot change (it is ${c.type}); create a new channel instead.`, { problems: ['type'] });
    const patch: Partial<Pick<StoredChannel, 'name' | 'config' | 'enabled' | 'updatedAt'>> = { updatedAt: this.o.clock.now() };
    if (input.name !== undefined) patch.name = channelName(input.name);
    if (input.enabled !== undefined) patch.enabled = input.enabled;
    if (input.config !== undefined) {
      const given = mode === 'merge' && isObject(input.config) ? { ...c.config, ...input.config } : input.config;
      patch.config = channelConfig(c.type, given, c.config as never);
      await this.checkUsers(c.tenantId, c.type, patch.config);
    } else if (mode === 'replace')
      fail('NOTIFICATION_CHANNEL_INVALID', 'Invalid channel: config is required (PATCH changes some fields only).', { problems: ['config'] });
    await this.o.store.notifications.updateChannel(id, patch);
    return channelView({ ...c, ...patch } as StoredChannel);
  }

  async delete(p: Principal, id: string): Promise<void> {
    await this.writable(p, id);
    await this.o.store.notifications.deleteChannel(id);
  }

  /** An in-app channel names users of its own tenant only. */
  private async checkUsers(tenantId: string, type: ChannelType, config: ChannelConfigs[ChannelType]): Promise<void> {
    if (type !== 'inapp') return;
    const ids = (config as ChannelConfigs['inapp']).userIds ?? [];
    const problems: string[] = [];
    for (const [i, userId] of ids.entries()) {
      const u = await this.o.store.users.get(userId);
      if (u?.tenantId !== tenantId) problems.push(`config.userIds[${i}] is not a user of this tenant`);
    }
    if (problems.length > 0) fail('NOTIFICATION_CHANNEL_INVALID', `Invalid channel: ${problems.join('; ')}.`, { problems });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
