// Notifications through the REST API of a running server: an email channel to a real SMTP server, a webhook
// channel to a real receiver that checks the signature; each tested, the deliveries SENT in the log, and no
// response ever shows a secret, also after a restart (the channels come back from SQLite).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { SMTPServer } from 'smtp-server';
import { startHarness, type Harness } from './harness';

const smtpPassword = 'e2e smtp password 7';
const hookSecret = 'e2e webhook secret 9';
let h: Harness;
let token: string;
const mails: { to: string[]; raw: string }[] = [];
const hooks: { headers: IncomingHttpHeaders; body: string }[] = [];
const smtp = new SMTPServer({
  disabledCommands: ['STARTTLS'],
  allowInsecureAuth: true,
  logger: false,
  onAuth: (auth, _s, cb) => {
    if (auth.username === 'thingstead' && auth.password === smtpPassword) cb(null, { user: auth.username });
    else cb(new Error('Invalid username or password'));
  },
  onData: (stream, session, cb) => {
    let raw = '';
    stream.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    stream.on('end', () => {
      mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
      cb();
    });
  },
});
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c: Buffer) => (body += c.toString('utf8')));
  req.on('end', () => {
    hooks.push({ headers: req.headers, body });
    res.statusCode = 204;
    res.end();
  });
});
/** Every response body seen, to check no secret is in any. */
const seen: string[] = [];

before(async () => {
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  h = await startHarness();
  token = await h.login();
});
after(async () => {
  await h.stop();
  await new Promise<void>((resolve) => {
    smtp.close(() => {
      resolve();
    });
  });
  await new Promise<void>((resolve) =>
    receiver.close(() => {
      resolve();
    }),
  );
});

const call = async (method: string, path: string, body?: unknown) => {
  const r = await h.call(method, path, body === undefined ? { token } : { token, body });
  seen.push(JSON.stringify(r.body));
  return r;
};

test('an email and a webhook channel are tested through REST: the mail and the signed POST arrive, the log says SENT, no secret is shown', async () => {
  const smtpPort = (smtp.server.address() as AddressInfo).port;
  const mail = await call('POST', '/api/notification-channels', {
    name: 'ops mail',
    type: 'email',
    config: {
      host: '127.0.0.1',
      port: smtpPort,
      secure: false,
      ignoreTls: true,
      user: 'thingstead',
      password: smtpPassword,
      from: 'tt@example.com',
      to: ['ops@example.com'],
    },
  });
  assert.equal(mail.status, 201, JSON.stringify(mail.body));
  assert.equal(mail.body.config.passwordSet, true);
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/in`;
  const hook = await call('POST', '/api/notification-channels', { name: 'ops hook', type: 'webhook', config: { url: hookUrl, secret: hookSecret } });
  assert.equal(hook.status, 201, JSON.stringify(hook.body));
  assert.deepEqual(hook.body.config, { url: hookUrl, secretSet: true });

  const mailTest = await call('POST', `/api/notification-channels/${mail.body.id as string}/test`);
  assert.deepEqual([mailTest.status, mailTest.body.status, mailTest.body.kind, mailTest.body.target], [200, 'SENT', 'email', 'ops@example.com']);
  assert.deepEqual(mails[0]?.to, ['ops@example.com']);
  assert.match(mails.at(0)?.raw ?? '', /^Subject: Thingstead test notification\r$/m);
  const hookTest = await call('POST', `/api/notification-channels/${hook.body.id as string}/test`);
  assert.deepEqual([hookTest.status, hookTest.body.status, hookTest.body.target], [200, 'SENT', hookUrl]);
  const got = hooks[0];
  assert.ok(got);
  const ts = String(got.headers['x-thingstead-timestamp']);
  assert.equal(got.headers['x-thingstead-signature'], `sha256=${createHmac('sha256', hookSecret).update(`${ts}.${got.body}`).digest('hex')}`);
  assert.equal((JSON.parse(got.body) as { id: string }).id, hookTest.body.id);

  const log = await call('GET', '/api/notification-deliveries?status=SENT');
  assert.deepEqual(
    log.body.items.map((d: { id: string }) => d.id),
    [hookTest.body.id, mailTest.body.id],
  );
  const byChannel = await call('GET', `/api/notification-deliveries?channelId=${mail.body.id as string}`);
  assert.equal(byChannel.body.total, 1);
  await call('GET', '/api/notification-channels');
  await call('GET', `/api/notification-channels/${mail.body.id as string}`);
  const patched = await call('PATCH', `/api/notification-channels/${hook.body.id as string}`, { config: { headers: { 'x-team': 'ops' } } });
  assert.deepEqual(patched.body.config, { url: hookUrl, secretSet: true, headers: { 'x-team': 'ops' } });
  await call('GET', '/api/openapi.json');
  for (const text of seen) assert.ok(!text.includes(smtpPassword) && !text.includes(hookSecret), text.slice(0, 300));
});

test('a channel with a bad field is refused naming it', async () => {
  const r = await call('POST', '/api/notification-channels', {
    name: 'bad',
    type: 'email',
    config: { host: 'smtp.example.com', port: 25, secure: false, from: 'a@example.com', to: ['not an address'] },
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'THINGSTEAD_ERR_NOTIFICATION_CHANNEL_INVALID');
  assert.match(r.body.message, /config\.to\[0\] is not an email address/);
  const dup = await call('POST', '/api/notification-channels', { name: 'ops mail', type: 'inapp', config: {} });
  assert.deepEqual([dup.status, dup.body.code], [409, 'THINGSTEAD_ERR_NOTIFICATION_CHANNEL_NAME_TAKEN']);
});

test('after a restart the channels and their secrets are still there: the webhook is signed again; the inbox works', async () => {
  await h.restart();
  token = await h.login();
  const channels = await call('GET', '/api/notification-channels');
  const hook = channels.body.items.find((c: { name: string }) => c.name === 'ops hook');
  assert.ok(hook);
  const again = await call('POST', `/api/notification-channels/${hook.id as string}/test`);
  assert.equal(again.body.status, 'SENT');
  const last = hooks.at(-1);
  assert.equal(
    last?.headers['x-thingstead-signature'],
    `sha256=${createHmac('sha256', hookSecret)
      .update(`${String(last?.headers['x-thingstead-timestamp'])}.${last?.body ?? ''}`)
      .digest('hex')}`,
  );
  const inbox = await call('POST', '/api/notification-channels', { name: 'inbox', type: 'inapp', config: {} });
  await call('POST', `/api/notification-channels/${inbox.body.id as string}/test`);
  assert.equal((await call('GET', '/api/notifications/unread-count')).body.count, 1);
  const items = await call('GET', '/api/notifications?unread=true');
  assert.equal(items.body.items[0].subject, 'Thingstead test notification');
  assert.equal((await call('POST', `/api/notifications/${items.body.items[0].id as string}/read`)).status, 204);
  assert.equal((await call('GET', '/api/notifications/unread-count')).body.count, 0);
  assert.deepEqual((await call('POST', '/api/notifications/read-all')).body, { updated: 0 });
  assert.equal((await call('DELETE', `/api/notification-channels/${inbox.body.id as string}`)).status, 204);
  for (const text of seen) assert.ok(!text.includes(smtpPassword) && !text.includes(hookSecret));
});
