import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManualClock } from '../clock';
import { notificationKit } from '../testing/notification-kit';
import { NotificationService } from './notification-service';
import { retryDelay, retryableStatus } from './retry';
import { verifyWebhook } from './signature';

test('notify stores a PENDING delivery and returns before the send; the webhook is a signed JSON POST with the rendered message', async () => {
  const k = await notificationKit();
  const ch = await k.webhookChannel();
  let release!: () => void;
  k.hold(
    new Promise<void>((r) => {
      release = r;
    }),
  );
  await k.n.notify({
    tenantId: k.home.id,
    channelIds: [ch.id],
    subject: 'Hot: {{device.name}}',
    body: '{{value}} °C',
    context: { device: { name: 'Boiler' }, value: 95 },
    ruleId: 'r1',
  });
  const [pending] = await k.deliveries();
  assert.equal(pending?.status, 'PENDING', 'stored before it was sent');
  assert.equal(pending.target, 'https://example.com/in', 'the URL without its query');
  release();
  await k.n.idle();
  const [sent] = await k.deliveries();
  assert.ok(sent);
  assert.deepEqual([sent.status, sent.attempts, sent.sentAt, sent.ruleId, sent.subject], ['SENT', 1, k.clock.now(), 'r1', 'Hot: Boiler']);
  const post = k.posts[0];
  assert.ok(post);
  assert.equal(post.url, 'https://example.com/in?token=q');
  assert.equal(post.timeoutMs, 10_000);
  assert.equal(post.headers['content-type'], 'application/json');
  assert.equal(post.headers['x-env'], 'test');
  assert.equal(post.headers['X-Thingstead-Timestamp'], String(k.clock.now()));
  assert.ok(verifyWebhook('hook-secret-123', post.headers['X-Thingstead-Timestamp'] ?? '', post.body, post.headers['X-Thingstead-Signature'] ?? ''));
  assert.ok(!verifyWebhook('another-secret', post.headers['X-Thingstead-Timestamp'] ?? '', post.body, post.headers['X-Thingstead-Signature'] ?? ''));
  const body = JSON.parse(post.body) as Record<string, unknown>;
  assert.deepEqual(
    { ...body, createdAt: 0 },
    {
      id: sent.id,
      type: 'notification',
      tenantId: k.home.id,
      channelId: ch.id,
      ruleId: 'r1',
      subject: 'Hot: Boiler',
      body: '95 °C',
      context: { device: { name: 'Boiler' }, value: 95 },
      createdAt: 0,
    },
  );
});

test('a failing webhook is retried after 1 s, 5 s, 30 s, 2 min and 10 min on the clock, re-signed each time, then FAILED', async () => {
  const k = await notificationKit({ statuses: [500] });
  const ch = await k.webhookChannel();
  const t0 = k.clock.now();
  await k.n.notify({ tenantId: k.home.id, channelIds: [ch.id], subject: 's', body: 'b', context: {} });
  await k.n.idle();
  let [d] = await k.deliveries();
  assert.deepEqual([d?.status, d?.attempts, d?.lastError, d?.nextAttemptAt], ['RETRYING', 1, 'the receiver answered HTTP 500', t0 + 1000]);
  k.clock.advance(999);
  await k.n.idle();
  assert.equal(k.posts.length, 1, 'not before its time');
  k.clock.advance(1);
  await k.n.idle();
  await k.tick(5000 + 30_000 + 120_000 + 600_000);
  assert.deepEqual(
    k.posts.map((p) => p.at - t0),
    [0, 1000, 6000, 36_000, 156_000, 756_000],
  );
  assert.deepEqual(new Set(k.posts.map((p) => p.headers['X-Thingstead-Timestamp'])).size, 6, 'each attempt signed with its own timestamp');
  [d] = await k.deliveries();
  assert.deepEqual([d?.status, d?.attempts, d?.nextAttemptAt], ['FAILED', 6, null]);
  await k.tick(3_600_000);
  assert.equal(k.posts.length, 6, 'a final delivery is not sent again');
});

test('a 4xx other than 408 and 429 is not retried; 408, 429, 5xx, 3xx and network errors are; success after failures is SENT', async () => {
  assert.deepEqual(
    [200, 301, 400, 401, 404, 408, 422, 429, 500, 503].map((s) => retryableStatus(s)),
    [true, true, false, false, false, true, false, true, true, true],
  );
  const refused = await notificationKit({ statuses: [400] });
  await refused.n.notify({ tenantId: refused.home.id, channelIds: [(await refused.webhookChannel()).id], subject: 's', body: 'b', context: {} });
  await refused.n.idle();
  const [d] = await refused.deliveries();
  assert.deepEqual([d?.status, d?.attempts, d?.lastError], ['FAILED', 1, 'the receiver answered HTTP 400']);
  const flaky = await notificationKit({ statuses: [new Error('fetch failed', { cause: new Error('connect ECONNREFUSED') }), 429, 200] });
  await flaky.n.notify({ tenantId: flaky.home.id, channelIds: [(await flaky.webhookChannel()).id], subject: 's', body: 'b', context: {} });
  await flaky.n.idle();
  assert.equal((await flaky.deliveries())[0]?.lastError, 'fetch failed: connect ECONNREFUSED');
  await flaky.tick(1000 + 5000);
  const [ok] = await flaky.deliveries();
  assert.deepEqual([ok?.status, ok?.attempts, ok?.lastError], ['SENT', 3, null]);
});

test('jitter varies each retry delay within +-20 %', async () => {
  const delays = [1000, 5000];
  assert.equal(
    retryDelay(delays, 1, 0.2, () => 0),
    800,
  );
  assert.equal(
    retryDelay(delays, 1, 0.2, () => 0.999_999),
    1200,
  );
  assert.equal(
    retryDelay(delays, 2, 0.2, () => 0.5),
    5000,
  );
  assert.equal(
    retryDelay(delays, 3, 0.2, () => 0.5),
    undefined,
    'no delay left: no retry',
  );
  for (const r of [0, 0.25, 0.75, 0.999]) {
    const d = retryDelay([30_000], 1, 0.2, () => r) ?? 0;
    assert.ok(d >= 24_000 && d <= 36_000, String(d));
  }
  const k = await notificationKit({ statuses: [503], random: () => 0 });
  await k.n.notify({ tenantId: k.home.id, channelIds: [(await k.webhookChannel()).id], subject: 's', body: 'b', context: {} });
  await k.n.idle();
  assert.equal((await k.deliveries())[0]?.nextAttemptAt, k.clock.now() + 800);
});

test('unknown, foreign and disabled channels are FAILED deliveries; notify never throws, even when the store fails', async () => {
  const k = await notificationKit();
  const other = await k.core.tenants.create(k.asAdmin, { name: 'Other' });
  const foreign = await k.n.createChannel(k.asAdmin, { tenantId: other.id, name: 'theirs', type: 'inapp', config: {} });
  const off = await k.n.createChannel(k.asAdmin, { name: 'off', type: 'inapp', config: {}, enabled: false });
  await k.n.notify({ tenantId: k.home.id, channelIds: ['no-such-channel', foreign.id, off.id], subject: 's', body: 'b', context: {} });
  const ds = await k.deliveries();
  const byJson = (rows: unknown[][]) => rows.map((r) => JSON.stringify(r)).sort();
  assert.deepEqual(
    byJson(ds.map((d) => [d.status, d.kind, d.channelId, d.lastError])),
    byJson([
      ['FAILED', 'inapp', off.id, 'the channel is disabled'],
      ['FAILED', null, null, `no channel ${foreign.id} in this tenant`],
      ['FAILED', null, null, 'no channel no-such-channel in this tenant'],
    ]),
  );
  await k.store.close();
  await k.n.notify({ tenantId: k.home.id, channelIds: [off.id], subject: 's', body: 'b', context: {} });
  await k.n.webhook({ tenantId: k.home.id, url: 'https://example.com', payload: {} });
});

test('email: the rendered subject and text to every recipient; an SMTP refusal is FAILED at once, a connection fault retried; no secret in the error', async () => {
  const k = await notificationKit();
  const ch = await k.n.createChannel(k.asAdmin, {
    name: 'mail',
    type: 'email',
    config: {
      host: 'smtp.example.com',
      port: 587,
      secure: false,
      user: 'u',
      password: 'smtp-pass-xyz',
      from: 'tt@example.com',
      to: ['a@example.com', 'b@example.com'],
    },
  });
  await k.n.notify({ tenantId: k.home.id, channelIds: [ch.id], subject: 'Alarm\r\nBcc: x@evil.example {{n}}', body: 'Value {{n}}', context: { n: 7 } });
  await k.n.idle();
  assert.deepEqual(k.mails[0], {
    to: ['a@example.com', 'b@example.com'],
    subject: 'Alarm Bcc: x@evil.example 7',
    text: 'Value 7',
    host: 'smtp.example.com',
    at: k.clock.now(),
  });
  assert.equal((await k.deliveries())[0]?.target, 'a@example.com, b@example.com');
  k.failMail(new k.PermanentDeliveryError('Invalid login: 535 bad password smtp-pass-xyz'));
  await k.n.notify({ tenantId: k.home.id, channelIds: [ch.id], subject: 's', body: 'b', context: {} });
  await k.n.idle();
  const [refused] = await k.deliveries();
  assert.deepEqual([refused?.status, refused?.lastError], ['FAILED', 'Invalid login: 535 bad password ***']);
  k.failMail(new Error('Connection timeout'));
  await k.n.notify({ tenantId: k.home.id, channelIds: [ch.id], subject: 's', body: 'b', context: {} });
  await k.n.idle();
  assert.equal((await k.deliveries())[0]?.status, 'RETRYING');
});

test('the queue is bounded: deliveries past it are FAILED and counted as refused', async () => {
  const k = await notificationKit({ limits: { maxQueued: 2, concurrency: 1 } });
  let release!: () => void;
  k.hold(
    new Promise<void>((r) => {
      release = r;
    }),
  );
  const ids = [];
  for (const name of ['a', 'b', 'c', 'd']) ids.push((await k.webhookChannel('secret-of-16-chars', name)).id);
  await k.n.notify({ tenantId: k.home.id, channelIds: ids, subject: 's', body: 'b', context: {} });
  assert.equal(k.n.refused, 2);
  assert.equal(k.n.queued, 2);
  const statuses = (await k.deliveries()).map((d) => d.status).sort();
  assert.deepEqual(statuses, ['FAILED', 'FAILED', 'PENDING', 'PENDING']);
  assert.match((await k.deliveries()).find((d) => d.status === 'FAILED')?.lastError ?? '', /^refused: the delivery queue was full \(it holds 2\)$/);
  release();
  await k.n.idle();
  assert.equal(k.posts.length, 2);
});

test('at start, deliveries a previous process left PENDING or RETRYING are sent; close() stops the worker', async () => {
  const k = await notificationKit({ statuses: [500] });
  const ch = await k.webhookChannel();
  await k.n.notify({ tenantId: k.home.id, channelIds: [ch.id], subject: 'retrying', body: 'b', context: {} });
  await k.n.idle();
  await k.n.close();
  await k.tick(10_000);
  assert.equal(k.posts.length, 1, 'a closed worker sends nothing');
  // The next process, on the same store: a delivery left PENDING too.
  const clock = new ManualClock(k.clock.now());
  const posts: string[] = [];
  const next = new NotificationService({ store: k.store, clock, http: { post: async (url) => (posts.push(url), { status: 204 }) } });
  await k.store.notifications.insertDeliveries([
    { ...(await k.store.notifications.getDelivery((await k.deliveries())[0]?.id ?? ''))!, id: 'left-pending', status: 'PENDING', attempts: 0 },
  ]);
  next.start();
  await next.idle();
  assert.equal(posts.length, 2);
  assert.deepEqual(
    (await k.deliveries()).map((d) => d.status),
    ['SENT', 'SENT'],
  );
  await next.close();
});

test('a one-off webhook (a rule action): its payload signed with its own secret, retried like any; an invalid one is a FAILED delivery', async () => {
  const k = await notificationKit({ statuses: [502, 200] });
  await k.n.webhook({
    tenantId: k.home.id,
    url: 'http://hooks.example.com/x',
    secret: 'one-off-secret',
    headers: { authorization: 'Bearer abc' },
    payload: { temp: 99 },
    ruleId: 'r2',
  });
  await k.n.idle();
  await k.tick(1000);
  assert.equal(k.posts.length, 2);
  const post = k.posts.at(1);
  assert.ok(post);
  assert.equal(post.body, '{"temp":99}');
  assert.equal(post.headers.authorization, 'Bearer abc');
  assert.ok(verifyWebhook('one-off-secret', post.headers['X-Thingstead-Timestamp'] ?? '', post.body, post.headers['X-Thingstead-Signature'] ?? ''));
  const [d] = await k.deliveries();
  assert.deepEqual([d?.status, d?.kind, d?.channelId, d?.ruleId, d?.attempts], ['SENT', 'webhook', null, 'r2', 2]);
  assert.ok(!JSON.stringify(await k.deliveries()).includes('one-off-secret'));
  await k.n.webhook({ tenantId: k.home.id, url: 'file:///etc/passwd', headers: { Host: 'x' }, payload: 1 });
  const [bad] = await k.deliveries();
  assert.deepEqual([bad?.status, bad?.lastError], ['FAILED', 'url must use http or https, not file; headers.Host is set by Thingstead and cannot be given']);
});

test('the delivery log keeps the newest deliveries of a tenant', async () => {
  const k = await notificationKit({ limits: { maxDeliveriesPerTenant: 5 } });
  for (let i = 0; i < 100; i++) await k.n.notify({ tenantId: k.home.id, channelIds: [`gone-${i}`], subject: `n${i}`, body: '', context: {} });
  const ds = await k.deliveries();
  assert.deepEqual(
    ds.map((d) => d.subject),
    ['n99', 'n98', 'n97', 'n96', 'n95'],
  );
});
