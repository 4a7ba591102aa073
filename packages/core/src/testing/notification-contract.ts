/**
 * The notification cases of the storage contract (store-contract.ts runs them inside its suite): channels, the
 * delivery log and the inbox, with what goes with a tenant, a user and a channel.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Tenant, User } from '../accounts/model';
import type { InboxItem, StoredChannel, StoredDelivery } from '../notifications/model';
import type { Store } from '../store';
import { rejectsWith } from './store-contract';

export interface NotificationContractContext {
  it: (caseName: string, fn: () => Promise<void>) => void;
  store: () => Store;
  newTenant: (name: string) => Promise<Tenant>;
  t0: number;
}

export function notificationContract({ it, store, newTenant, t0 }: NotificationContractContext): void {
  const repo = () => store().notifications;
  const channel = (t: Tenant, o: Partial<StoredChannel> = {}): StoredChannel =>
    ({
      id: randomUUID(),
      tenantId: t.id,
      name: `ch-${randomUUID()}`,
      type: 'email',
      config: { host: 'smtp.example.com', port: 587, secure: false, password: "p'); DROP TABLE tenants; --", from: 'a@example.com', to: ['b@example.com'] },
      enabled: true,
      createdAt: t0,
      updatedAt: t0,
      ...o,
    }) as StoredChannel;
  const delivery = (t: Tenant, o: Partial<StoredDelivery> = {}): StoredDelivery => ({
    id: randomUUID(),
    tenantId: t.id,
    channelId: null,
    kind: 'webhook',
    target: 'https://example.com/hook',
    subject: 'Boiler hot',
    status: 'PENDING',
    attempts: 0,
    lastError: null,
    nextAttemptAt: t0,
    createdAt: t0,
    sentAt: null,
    ruleId: null,
    maxAttempts: 6,
    request: { body: '{"a":1}', webhook: { url: 'https://example.com/hook', headers: { 'x-a': 'b' }, secret: 's3cret' } },
    ...o,
  });
  const newUser = async (t: Tenant): Promise<User> => {
    const u: User = {
      id: randomUUID(),
      tenantId: t.id,
      email: `${randomUUID()}@example.com`,
      role: 'viewer',
      passwordHash: 'h',
      disabled: false,
      createdAt: t0,
    };
    await store().users.insert(u);
    return u;
  };
  const item = (u: User, o: Partial<InboxItem> = {}): InboxItem => ({
    id: randomUUID().replaceAll('-', ''),
    tenantId: u.tenantId,
    userId: u.id,
    deliveryId: randomUUID(),
    subject: 'Hot',
    body: 'The boiler is at 95 °C',
    createdAt: t0,
    readAt: null,
    ruleId: 'rule-1',
    ...o,
  });

  it('notification channels: stored as given, listed by name per tenant, names unique per tenant, updated, deleted', async () => {
    const t = await newTenant('notify-channels');
    const other = await newTenant('notify-channels-other');
    const b = channel(t, { name: 'b-mail' });
    const a = channel(t, { name: 'a-hook', type: 'webhook', config: { url: 'https://example.com/x', secret: 'k', headers: { 'x-k': 'v' } }, enabled: false });
    for (const c of [b, a]) await repo().insertChannel(c);
    await repo().insertChannel(channel(other, { name: 'b-mail' }));
    assert.deepEqual(await repo().getChannel(a.id), a);
    assert.deepEqual(await repo().listChannels(t.id), [a, b]);
    assert.equal(await repo().countChannels(t.id), 2);
    await assert.rejects(repo().insertChannel(channel(t, { name: 'b-mail' })), rejectsWith('NOTIFICATION_CHANNEL_NAME_TAKEN'));
    await assert.rejects(repo().updateChannel(a.id, { name: 'b-mail' }), rejectsWith('NOTIFICATION_CHANNEL_NAME_TAKEN'));
    await repo().updateChannel(a.id, { name: 'c-hook', enabled: true, config: { url: 'https://example.com/y' }, updatedAt: t0 + 5 });
    assert.deepEqual(await repo().getChannel(a.id), { ...a, name: 'c-hook', enabled: true, config: { url: 'https://example.com/y' }, updatedAt: t0 + 5 });
    const stray = channel({ ...t, id: randomUUID() });
    await repo().insertChannel(stray);
    assert.equal(await repo().getChannel(stray.id), undefined, 'a channel of an unknown tenant is not stored');
    assert.equal(await repo().deleteChannel(b.id), true);
    assert.equal(await repo().deleteChannel(b.id), false);
    assert.deepEqual(
      (await repo().listChannels(t.id)).map((c) => c.id),
      [a.id],
    );
  });

  it('notification deliveries: stored in one batch, listed newest first with filters, updates guarded by status', async () => {
    const t = await newTenant('notify-deliveries');
    const c = channel(t);
    await repo().insertChannel(c);
    const first = delivery(t, { createdAt: t0 });
    const second = delivery(t, { createdAt: t0 + 1, channelId: c.id, kind: 'email', target: 'b@example.com', request: { body: 'text' } });
    const third = delivery(t, { createdAt: t0 + 1, status: 'FAILED', nextAttemptAt: null, lastError: 'no channel x', channelId: randomUUID(), kind: null });
    await repo().insertDeliveries([first, second, third]);
    assert.deepEqual(await repo().getDelivery(first.id), first);
    assert.deepEqual(await repo().getDelivery(third.id), { ...third, channelId: null }, 'a channelId naming no channel is stored as null');
    assert.deepEqual(
      (await repo().listDeliveries({ tenantId: t.id, limit: 10, offset: 0 })).items.map((d) => d.id),
      [third.id, second.id, first.id],
    );
    assert.deepEqual(await repo().listDeliveries({ tenantId: t.id, channelId: c.id, limit: 10, offset: 0 }), { items: [second], total: 1 });
    assert.deepEqual((await repo().listDeliveries({ tenantId: t.id, status: 'PENDING', limit: 1, offset: 1 })).total, 2);
    assert.equal(await repo().updateDelivery(first.id, ['RETRYING'], { status: 'SENT' }), false);
    assert.equal(
      await repo().updateDelivery(first.id, ['PENDING', 'RETRYING'], { status: 'RETRYING', attempts: 1, lastError: 'HTTP 500', nextAttemptAt: t0 + 1000 }),
      true,
    );
    assert.equal(
      await repo().updateDelivery(first.id, ['PENDING', 'RETRYING'], { status: 'SENT', attempts: 2, sentAt: t0 + 1001, lastError: null, nextAttemptAt: null }),
      true,
    );
    assert.deepEqual(await repo().getDelivery(first.id), { ...first, status: 'SENT', attempts: 2, sentAt: t0 + 1001, lastError: null, nextAttemptAt: null });
    assert.equal(await repo().updateDelivery(first.id, ['PENDING', 'RETRYING'], { status: 'FAILED' }), false, 'a final delivery stays final');
    await assert.rejects(repo().insertDeliveries([delivery(t), { ...second }]), rejectsWith('CONFLICT'));
    assert.equal((await repo().listDeliveries({ tenantId: t.id, limit: 10, offset: 0 })).total, 3, 'a batch with a conflict stores nothing');
    assert.equal(await repo().deleteChannel(c.id), true);
    assert.equal((await repo().getDelivery(second.id))?.channelId, null, 'a deleted channel leaves its deliveries in the log');
  });

  it('notification deliveries: due are the open ones whose next attempt has come, earliest first; pruning keeps the newest and the open', async () => {
    const t = await newTenant('notify-due');
    const base = t0 + 50_000_000;
    const pending = delivery(t, { nextAttemptAt: base, createdAt: base });
    const retrying = delivery(t, { status: 'RETRYING', attempts: 1, nextAttemptAt: base - 10, createdAt: base - 100 });
    const later = delivery(t, { status: 'RETRYING', attempts: 1, nextAttemptAt: base + 5000, createdAt: base - 200 });
    const sent = delivery(t, { status: 'SENT', nextAttemptAt: null, sentAt: base, createdAt: base - 300 });
    await repo().insertDeliveries([pending, retrying, later, sent]);
    const due = async (now: number) => (await repo().dueDeliveries(now, 100)).filter((d) => d.tenantId === t.id).map((d) => d.id);
    assert.deepEqual(await due(base - 11), []);
    assert.deepEqual(await due(base), [retrying.id, pending.id]);
    assert.deepEqual(await due(base + 5000), [retrying.id, pending.id, later.id]);
    const old = Array.from({ length: 5 }, (_, i) => delivery(t, { status: 'FAILED', nextAttemptAt: null, createdAt: base - 1000 - i }));
    await repo().insertDeliveries(old);
    assert.equal(await repo().pruneDeliveries(t.id, 3), 6, 'the final ones past the newest 3');
    assert.deepEqual(
      (await repo().listDeliveries({ tenantId: t.id, limit: 100, offset: 0 })).items.map((d) => d.id),
      [pending.id, retrying.id, later.id],
    );
  });

  it('notification inbox: only users of the item tenant get items, listed newest first, read one by one or all, pruned', async () => {
    const t = await newTenant('notify-inbox');
    const other = await newTenant('notify-inbox-other');
    const [u, v, stranger] = [await newUser(t), await newUser(t), await newUser(other)];
    const a = item(u, { createdAt: t0 });
    const b = item(u, { createdAt: t0 + 1 });
    const c = item(u, { createdAt: t0 + 1 });
    const forV = item(v);
    const wrongTenant = { ...item(stranger), tenantId: t.id };
    assert.equal(await repo().insertInbox([a, b, c, forV, wrongTenant, item({ ...u, id: randomUUID() })]), 4);
    assert.equal(await repo().insertInbox([a]), 0, 'an item stored already is not stored twice');
    assert.deepEqual(await repo().listInbox({ userId: u.id, limit: 10, offset: 0 }), { items: [c, b, a], total: 3 });
    assert.deepEqual(await repo().listInbox({ userId: stranger.id, limit: 10, offset: 0 }), { items: [], total: 0 });
    assert.equal(await repo().countUnread(u.id), 3);
    assert.equal(await repo().markRead(u.id, b.id, t0 + 10), true);
    assert.equal(await repo().markRead(u.id, b.id, t0 + 20), true);
    assert.equal(await repo().markRead(v.id, a.id, t0 + 10), false, "another user's item");
    assert.equal(await repo().markRead(u.id, 'nope', t0 + 10), false);
    assert.deepEqual(await repo().listInbox({ userId: u.id, unreadOnly: true, limit: 10, offset: 0 }), { items: [c, a], total: 2 });
    assert.equal((await repo().listInbox({ userId: u.id, limit: 1, offset: 1 })).items[0]?.readAt, t0 + 10, 'read once, the first time stays');
    assert.equal(await repo().markAllRead(u.id, t0 + 30), 2);
    assert.equal(await repo().countUnread(u.id), 0);
    assert.equal(await repo().countUnread(v.id), 1);
    assert.equal(await repo().pruneInbox(u.id, 1), 2);
    assert.deepEqual(
      (await repo().listInbox({ userId: u.id, limit: 10, offset: 0 })).items.map((i) => i.id),
      [c.id],
    );
    await store().users.delete(v.id);
    assert.equal(await repo().countUnread(v.id), 0, "a user's items go with the user");
  });

  it('notifications go with their tenant', async () => {
    const t = await newTenant('notify-cascade');
    const u = await newUser(t);
    const c = channel(t);
    await repo().insertChannel(c);
    const d = delivery(t, { channelId: c.id });
    await repo().insertDeliveries([d]);
    await repo().insertInbox([item(u)]);
    await store().tenants.delete(t.id);
    assert.equal(await repo().getChannel(c.id), undefined);
    assert.equal(await repo().getDelivery(d.id), undefined);
    assert.equal(await repo().countUnread(u.id), 0);
  });
}
