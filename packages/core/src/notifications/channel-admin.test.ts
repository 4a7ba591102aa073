import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ErrorName } from '../errors';
import { isThingsteadError } from '../errors';
import { principal } from '../testing/test-core';
import { notificationKit } from '../testing/notification-kit';

const refused = (p: Promise<unknown>, kind: ErrorName, problem?: string) =>
  assert.rejects(p, (e: unknown) => {
    assert.ok(isThingsteadError(e), String(e));
    assert.equal(e.kind, kind, e.message);
    if (problem !== undefined) assert.ok((e.details?.problems as string[]).includes(problem), JSON.stringify(e.details));
    return true;
  });

const email = { host: 'smtp.example.com', port: 465, secure: true, user: 'mailer', password: 'smtp-secret-1', from: 'tt@example.com', to: ['ops@example.com'] };

test('secrets are stored but never shown: passwordSet / secretSet; an update without them keeps them, null removes them', async () => {
  const k = await notificationKit();
  const seen: unknown[] = [];
  const mail = await k.n.createChannel(k.asAdmin, { name: 'mail', type: 'email', config: email });
  const hook = await k.webhookChannel('webhook-secret-2');
  seen.push(mail, hook);
  assert.deepEqual(mail.config, {
    host: 'smtp.example.com',
    port: 465,
    secure: true,
    user: 'mailer',
    from: 'tt@example.com',
    to: ['ops@example.com'],
    passwordSet: true,
  });
  assert.deepEqual(hook.config, { url: 'https://example.com/in?token=q', headers: { 'x-env': 'test' }, secretSet: true });
  seen.push(await k.n.listChannels(k.asAdmin), await k.n.getChannel(k.asAdmin, mail.id));
  const renamed = await k.n.updateChannel(k.asAdmin, mail.id, { name: 'mail 2', config: { ...email, password: undefined, to: ['x@example.com'] } }, 'replace');
  seen.push(renamed);
  assert.equal((renamed.config as { passwordSet: boolean }).passwordSet, true, 'left out: kept');
  const stored = await k.store.notifications.getChannel(mail.id);
  assert.equal(stored?.type === 'email' && stored.config.password, 'smtp-secret-1');
  seen.push(await k.n.updateChannel(k.asAdmin, hook.id, { config: { headers: { 'x-env': 'prod' } } }, 'merge'));
  seen.push(await k.n.test(k.asAdmin, hook.id), await k.n.test(k.asAdmin, mail.id), await k.n.deliveries(k.asAdmin, { limit: 100, offset: 0 }));
  assert.ok(k.posts[0]?.headers['X-Thingstead-Signature'], 'the merged config kept the secret');
  const text = JSON.stringify(seen);
  assert.ok(!text.includes('smtp-secret-1') && !text.includes('webhook-secret-2'), text);
  const removed = await k.n.updateChannel(k.asAdmin, hook.id, { config: { secret: null } }, 'merge');
  assert.equal((removed.config as { secretSet: boolean }).secretSet, false);
  await k.n.test(k.asAdmin, hook.id);
  assert.equal(k.posts[1]?.headers['X-Thingstead-Signature'], undefined, 'no secret: unsigned');
});

test('validation names each field', async () => {
  const k = await notificationKit();
  const create = (type: 'email' | 'webhook' | 'inapp', config: unknown) => k.n.createChannel(k.asAdmin, { name: `c-${type}`, type, config });
  await refused(
    create('email', { ...email, to: ['not-an-address', 'ok@example.com'] }),
    'NOTIFICATION_CHANNEL_INVALID',
    'config.to[0] is not an email address',
  );
  await refused(create('email', { ...email, to: [] }), 'NOTIFICATION_CHANNEL_INVALID', 'config.to must be a list of 1 to 50 email addresses');
  await refused(create('email', { ...email, to: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`) }), 'NOTIFICATION_CHANNEL_INVALID');
  await refused(create('email', { ...email, port: 0, from: 'x' }), 'NOTIFICATION_CHANNEL_INVALID', 'config.from is not an email address');
  await refused(
    create('email', { ...email, ignoreTls: true, requireTls: true }),
    'NOTIFICATION_CHANNEL_INVALID',
    'config.ignoreTls and config.requireTls cannot both be true',
  );
  await refused(create('email', { ...email, pass: 'typo' }), 'NOTIFICATION_CHANNEL_INVALID', 'config.pass is not a field of this channel type');
  await refused(create('webhook', { url: 'ftp://example.com' }), 'NOTIFICATION_CHANNEL_INVALID', 'config.url must use http or https, not ftp');
  await refused(create('webhook', { url: 'https://u:p@example.com' }), 'NOTIFICATION_CHANNEL_INVALID');
  await refused(
    create('webhook', { url: 'https://example.com', headers: { Host: 'evil', 'Content-Length': '1' } }),
    'NOTIFICATION_CHANNEL_INVALID',
    'config.headers.Host is set by Thingstead and cannot be given',
  );
  await refused(create('webhook', { url: 'https://example.com', headers: { 'x-a': 'a\r\nInjected: 1' } }), 'NOTIFICATION_CHANNEL_INVALID');
  await refused(create('inapp', { userIds: ['nobody'] }), 'NOTIFICATION_CHANNEL_INVALID', 'config.userIds[0] is not a user of this tenant');
  await refused(k.n.createChannel(k.asAdmin, { name: ' ', type: 'inapp', config: {} }), 'NOTIFICATION_CHANNEL_INVALID');
  await k.n.createChannel(k.asAdmin, { name: 'same', type: 'inapp', config: {} });
  await refused(k.n.createChannel(k.asAdmin, { name: 'same', type: 'inapp', config: {} }), 'NOTIFICATION_CHANNEL_NAME_TAKEN');
  const hook = await k.webhookChannel();
  await refused(k.n.updateChannel(k.asAdmin, hook.id, { type: 'email', config: email }, 'replace'), 'NOTIFICATION_CHANNEL_INVALID', 'type');
});

test('tenant admins write, viewers read, other tenants see nothing', async () => {
  const k = await notificationKit();
  const other = await k.core.tenants.create(k.asAdmin, { name: 'Other' });
  const viewer = principal(k.home.id, 'viewer');
  const outsider = principal(other.id, 'tenant-admin');
  const hook = await k.webhookChannel();
  assert.equal((await k.n.getChannel(viewer, hook.id)).id, hook.id);
  assert.equal((await k.n.listChannels(viewer)).length, 1);
  await refused(k.n.createChannel(viewer, { name: 'v', type: 'inapp', config: {} }), 'FORBIDDEN');
  await refused(k.n.updateChannel(viewer, hook.id, { enabled: false }, 'merge'), 'FORBIDDEN');
  await refused(k.n.test(viewer, hook.id), 'FORBIDDEN');
  await refused(k.n.deleteChannel(viewer, hook.id), 'FORBIDDEN');
  await refused(k.n.getChannel(outsider, hook.id), 'NOT_FOUND');
  await refused(k.n.deleteChannel(outsider, hook.id), 'NOT_FOUND');
  await refused(k.n.deliveries(outsider, { tenantId: k.home.id, limit: 10, offset: 0 }), 'NOT_FOUND');
  assert.deepEqual(await k.n.listChannels(outsider), []);
  await k.n.deleteChannel(k.asAdmin, hook.id);
  await refused(k.n.getChannel(k.asAdmin, hook.id), 'NOT_FOUND');
});

test('a channel test is sent at once, also when disabled, and not retried', async () => {
  const k = await notificationKit({ statuses: [500] });
  const hook = await k.webhookChannel();
  await k.n.updateChannel(k.asAdmin, hook.id, { enabled: false }, 'merge');
  const d = await k.n.test(k.asAdmin, hook.id);
  assert.deepEqual([d.status, d.attempts, d.lastError, d.subject], ['FAILED', 1, 'the receiver answered HTTP 500', 'Thingstead test notification']);
  assert.equal((JSON.parse(k.posts[0]?.body ?? '{}') as { type: string }).type, 'test');
  await k.tick(10_000);
  assert.equal(k.posts.length, 1);
});

test('in-app: an item in the inbox of each enabled user of the tenant (or those named); each user reads and marks only their own', async () => {
  const k = await notificationKit();
  const a = await k.core.users.create(k.asAdmin, { email: 'a@example.com', password: 'password of a 1', role: 'viewer' });
  const b = await k.core.users.create(k.asAdmin, { email: 'b@example.com', password: 'password of b 1', role: 'viewer' });
  const pa = principal(k.home.id, 'viewer', a.id);
  const pb = principal(k.home.id, 'viewer', b.id);
  const all = await k.n.createChannel(k.asAdmin, { name: 'everyone', type: 'inapp', config: {} });
  const onlyB = await k.n.createChannel(k.asAdmin, { name: 'only b', type: 'inapp', config: { userIds: [b.id] } });
  await k.n.notify({ tenantId: k.home.id, channelIds: [all.id], subject: 'To all: {{x}}', body: 'body {{x}}', context: { x: 1 }, ruleId: 'r' });
  await k.n.notify({ tenantId: k.home.id, channelIds: [onlyB.id], subject: 'To b', body: '', context: {} });
  await k.n.idle();
  assert.deepEqual((await k.n.unreadCount(pa)).count, 1);
  assert.deepEqual((await k.n.unreadCount(pb)).count, 2);
  assert.equal((await k.n.unreadCount(k.asAdmin)).count, 1, 'the admin is a user of the tenant too');
  const [item] = (await k.n.inbox(pa, { limit: 10, offset: 0 })).items;
  assert.deepEqual([item?.subject, item?.body, item?.ruleId, item?.readAt], ['To all: 1', 'body 1', 'r', null]);
  await refused(k.n.markRead(pb, item?.id ?? ''), 'NOT_FOUND');
  await k.n.markRead(pa, item?.id ?? '');
  assert.equal((await k.n.unreadCount(pa)).count, 0);
  assert.equal((await k.n.inbox(pa, { unread: true, limit: 10, offset: 0 })).total, 0);
  assert.deepEqual(await k.n.markAllRead(pb), { updated: 2 });
  assert.equal((await k.n.unreadCount(pb)).count, 0);
  assert.equal((await k.deliveries()).filter((d) => d.status === 'SENT' && d.kind === 'inapp').length, 2);
});
