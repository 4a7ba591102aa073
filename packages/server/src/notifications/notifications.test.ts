// Notifications through the server's real adapters: a real SMTP server (smtp-server) receives the mail, a real
// node:http receiver checks the webhook signature as a receiver would. Core runs on the memory store and a
// manual clock, which drives the retries; the sends themselves are real I/O.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, test } from 'node:test';
import { createTestCore } from '@thingstead/core/testing';
import { SMTPServer } from 'smtp-server';
import { fetchPoster } from './fetch-poster';
import { nodemailerMailer } from './nodemailer-mailer';

interface Mail {
  from: string;
  to: string[];
  raw: string;
  user: string | undefined;
}

const closers: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of closers) await c();
});

async function smtp(accounts: Record<string, string>): Promise<{ port: number; mails: Mail[] }> {
  const mails: Mail[] = [];
  const server = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: false,
    logger: false,
    onAuth: (auth, _session, cb) => {
      if (auth.username !== undefined && accounts[auth.username] === auth.password) cb(null, { user: auth.username });
      else cb(new Error('Invalid username or password'));
    },
    onData: (stream, session, cb) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
          user: session.user as string | undefined,
        });
        cb();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  );
  return { port: (server.server.address() as AddressInfo).port, mails };
}

/** A webhook receiver answering the statuses given in turn (the last from then on). */
async function receiver(statuses: number[]): Promise<{ url: string; requests: { headers: IncomingMessage['headers']; body: string }[]; server: Server }> {
  const requests: { headers: IncomingMessage['headers']; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      requests.push({ headers: req.headers, body });
      res.statusCode = statuses.length > 1 ? (statuses.shift() ?? 200) : (statuses[0] ?? 200);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/thingstead?key=k1`, requests, server };
}

/** What a receiver does: HMAC-SHA256 of "<timestamp>.<body>" with the shared secret. */
const signatureOk = (secret: string, r: { headers: IncomingMessage['headers']; body: string }) =>
  r.headers['x-thingstead-signature'] ===
  `sha256=${createHmac('sha256', secret)
    .update(`${String(r.headers['x-thingstead-timestamp'])}.${r.body}`)
    .digest('hex')}`;

const setup = () => createTestCore({ mailer: nodemailerMailer({ timeoutMs: 5000 }), http: fetchPoster(), random: () => 0.5 });

test('an email channel sends through a real SMTP server with a login: subject, text and every recipient arrive', async () => {
  const server = await smtp({ mailer: 'smtp password 1' });
  const t = await setup();
  const n = t.core.notifications;
  const ch = await n.createChannel(t.asAdmin, {
    name: 'ops mail',
    type: 'email',
    config: {
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      ignoreTls: true,
      user: 'mailer',
      password: 'smtp password 1',
      from: 'thingstead@example.com',
      to: ['ops@example.com', 'oncall@example.com'],
    },
  });
  await n.notify({
    tenantId: t.home.id,
    channelIds: [ch.id],
    subject: 'Boiler {{device}} hot',
    body: 'Temperature {{value}} C',
    context: { device: 'B1', value: 97 },
  });
  await n.idle();
  const [d] = (await n.deliveries(t.asAdmin, { limit: 10, offset: 0 })).items;
  assert.deepEqual([d?.status, d?.attempts, d?.lastError], ['SENT', 1, null]);
  const mail = server.mails[0];
  assert.ok(mail);
  assert.deepEqual([mail.from, mail.to, mail.user], ['thingstead@example.com', ['ops@example.com', 'oncall@example.com'], 'mailer']);
  assert.match(mail.raw, /^Subject: Boiler B1 hot\r$/m);
  assert.match(mail.raw, /\r\n\r\nTemperature 97 C/);
  const test1 = await n.test(t.asAdmin, ch.id);
  assert.equal(test1.status, 'SENT');
  assert.match(server.mails[1]?.raw ?? '', /^Subject: Thingstead test notification\r$/m);
  await t.core.close();
});

test('a refused SMTP login is FAILED at once, and its error holds no password', async () => {
  const server = await smtp({ mailer: 'the right one' });
  const t = await setup();
  const n = t.core.notifications;
  const ch = await n.createChannel(t.asAdmin, {
    name: 'bad login',
    type: 'email',
    config: {
      host: '127.0.0.1',
      port: server.port,
      secure: false,
      ignoreTls: true,
      user: 'mailer',
      password: 'wrong-password-42',
      from: 'a@example.com',
      to: ['b@example.com'],
    },
  });
  const d = await n.test(t.asAdmin, ch.id);
  assert.equal(d.status, 'FAILED');
  assert.match(d.lastError ?? '', /Invalid login/);
  assert.ok(!(d.lastError ?? '').includes('wrong-password-42'));
  assert.equal(server.mails.length, 0);
  await t.core.close();
});

test('a webhook receiver verifies the signature; answers 500 twice, then 200: the retries are in the delivery log', async () => {
  const r = await receiver([500, 500, 200]);
  const t = await setup();
  const n = t.core.notifications;
  const ch = await n.createChannel(t.asAdmin, {
    name: 'hook',
    type: 'webhook',
    config: { url: r.url, secret: 'shared secret 123', headers: { 'x-source': 'thingstead' } },
  });
  await n.notify({
    tenantId: t.home.id,
    channelIds: [ch.id],
    subject: 'Door {{state}}',
    body: 'now {{state}}',
    context: { state: 'open' },
    ruleId: 'door-rule',
  });
  await n.idle();
  const log = async () => (await n.deliveries(t.asAdmin, { limit: 10, offset: 0 })).items[0];
  assert.deepEqual([(await log())?.status, (await log())?.attempts, (await log())?.lastError], ['RETRYING', 1, 'the receiver answered HTTP 500']);
  t.clock.advance(1000);
  await n.idle();
  assert.deepEqual([(await log())?.status, (await log())?.attempts], ['RETRYING', 2]);
  // In steps of the worker's poll interval (1 s), as time passes.
  for (let i = 0; i < 5; i++) {
    t.clock.advance(1000);
    await n.idle();
  }
  const done = await log();
  assert.deepEqual([done?.status, done?.attempts, done?.lastError, done?.target], ['SENT', 3, null, r.url.split('?')[0]]);
  assert.equal(r.requests.length, 3);
  for (const req of r.requests) {
    assert.ok(signatureOk('shared secret 123', req), 'signed with the channel secret');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-source'], 'thingstead');
  }
  assert.ok(!signatureOk('another secret', r.requests[0] ?? { headers: {}, body: '' }));
  const bodies = r.requests.map((x) => JSON.parse(x.body) as { id: string; subject: string; context: unknown; ruleId: string });
  assert.deepEqual(new Set(bodies.map((b) => b.id)), new Set([done?.id]), 'the same id in every retry, for de-duplication');
  assert.deepEqual([bodies[0]?.subject, bodies[0]?.context, bodies[0]?.ruleId], ['Door open', { state: 'open' }, 'door-rule']);
  await t.core.close();
});

test('the HTTP adapter follows no redirect, times out, and requests http(s) only', async () => {
  const r = await receiver([302]);
  const http = fetchPoster();
  assert.deepEqual(await http.post(r.url, '{}', {}, 5000), { status: 302 });
  const silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        silent.closeAllConnections();
        silent.close(() => {
          resolve();
        });
      }),
  );
  await assert.rejects(http.post(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/`, '{}', {}, 200), /timeout|aborted/i);
  await assert.rejects(http.post('file:///etc/passwd', '{}', {}, 200), { name: 'PermanentDeliveryError' });
});
