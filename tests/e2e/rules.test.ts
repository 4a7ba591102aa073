// Rules end to end on a running platform: telemetry over MQTT (mqtt.js) triggers a duration rule that raises an
// alarm, sends the device an RPC it receives on its MQTT connection, emails a real SMTP server (smtp-server) and
// calls a real HTTP receiver that checks the webhook signature; the alarm clears with hysteresis and is
// acknowledged over REST. A broken expression is refused at save time; a rule that throws at run time is isolated
// (the other rule keeps working) and disabled with its reason.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { SMTPServer } from 'smtp-server';
import { startHarness, type Harness } from './harness';

interface Mail {
  to: string[];
  text: string;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('rules on a running platform', () => {
  let h: Harness;
  let token: string;
  let device: { id: string; accessToken: string };
  let client: MqttClient;
  const rpcs: { topic: string; body: { method: string; params: unknown } }[] = [];
  const mails: Mail[] = [];
  const hooks: { valid: boolean; body: { subject?: string } }[] = [];
  let smtp: SMTPServer;
  let receiver: Server;
  const secret = 'webhook-secret-0123456789';

  before(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onData(stream, session, done) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ to: session.envelope.rcptTo.map((r) => r.address), text: Buffer.concat(chunks).toString('utf8') });
          done();
        });
      },
    });
    await new Promise<void>((r) =>
      smtp.listen(0, '127.0.0.1', () => {
        r();
      }),
    );
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const ts = String(req.headers['x-thingstead-timestamp']);
        const want = Buffer.from(`sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`);
        const got = Buffer.from(String(req.headers['x-thingstead-signature']));
        hooks.push({ valid: want.length === got.length && timingSafeEqual(want, got), body: JSON.parse(body) as { subject?: string } });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) =>
      receiver.listen(0, '127.0.0.1', () => {
        r();
      }),
    );

    h = await startHarness();
    token = await h.login();
    device = await h.createDevice(token, 'boiler-1');
    client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`, { username: device.accessToken, reconnectPeriod: 0 });
    client.on('message', (topic, payload) => {
      if (topic.startsWith('v1/devices/me/rpc/request/'))
        rpcs.push({ topic, body: JSON.parse(payload.toString('utf8')) as { method: string; params: unknown } });
    });
    await client.subscribeAsync('v1/devices/me/rpc/request/+', { qos: 1 });
  });

  after(async () => {
    await client.endAsync();
    await h.stop();
    await new Promise<void>((r) => {
      smtp.close(() => {
        r();
      });
    });
    await new Promise<void>((r) =>
      receiver.close(() => {
        r();
      }),
    );
  });

  const send = (values: Record<string, unknown>) => client.publishAsync('v1/devices/me/telemetry', JSON.stringify(values), { qos: 1 });
  const alarms = async () =>
    (await h.call('GET', `/api/devices/${device.id}/alarms`, { token })).body.items as { id: string; type: string; status: string; severity: string }[];

  test('a broken JSONata expression is refused at save time with the field named', async () => {
    const r = await h.call('POST', '/api/rules', {
      token,
      body: {
        name: 'broken',
        trigger: { type: 'telemetry' },
        condition: { type: 'expression', expression: 'temperature > (' },
        actions: [{ type: 'rpc', method: 'x' }],
      },
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'THINGSTEAD_ERR_RULE_INVALID');
    assert.equal(r.body.details.problems[0].path, '/condition/expression');
    assert.match(r.body.details.problems[0].message, /not a valid JSONata expression/);
  });

  test('a duration rule raises an alarm, commands the device, emails and calls a signed webhook; it clears with hysteresis; ack works; a failing rule is isolated', async () => {
    const email = await h.call('POST', '/api/notification-channels', {
      token,
      body: {
        name: 'ops mail',
        type: 'email',
        config: {
          host: '127.0.0.1',
          port: (smtp.server.address() as AddressInfo).port,
          secure: false,
          ignoreTls: true,
          from: 'thingstead@example.com',
          to: ['ops@example.com'],
        },
      },
    });
    assert.equal(email.status, 201, JSON.stringify(email.body));
    const hook = await h.call('POST', '/api/notification-channels', {
      token,
      body: { name: 'ops hook', type: 'webhook', config: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, secret } },
    });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    const rule = await h.call('POST', '/api/rules', {
      token,
      body: {
        name: 'Boiler overheating',
        trigger: { type: 'telemetry', keys: ['temperature'] },
        condition: { type: 'duration', forMs: 1000, condition: { type: 'threshold', key: 'temperature', op: '>', value: 30, hysteresis: 5 } },
        actions: [
          { type: 'alarm', alarmType: 'Overheating', severity: 'MAJOR' },
          { type: 'rpc', method: 'setFan', params: { on: true } },
          {
            type: 'notify',
            channelIds: [email.body.id, hook.body.id],
            subject: '{{alarm.type}} on {{device.name}}',
            body: 'Temperature {{values.temperature}}',
          },
        ],
      },
    });
    assert.equal(rule.status, 201, JSON.stringify(rule.body));
    const failing = await h.call('POST', '/api/rules', {
      token,
      body: {
        name: 'Throws',
        trigger: { type: 'telemetry' },
        condition: { type: 'expression', expression: '$error("sensor " & $device.name & " broke")' },
        actions: [{ type: 'rpc', method: 'never' }],
      },
    });
    assert.equal(failing.status, 201);

    await send({ temperature: 35 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await alarms()).length, 0, 'not yet: the condition must hold for 1 s');
    // The duration elapses on a timer; no further message is needed.
    const [raised] = await until('the alarm', async () => {
      const a = await alarms();
      return a.length > 0 ? a : undefined;
    });
    assert.equal(raised?.type, 'Overheating');
    assert.equal(raised.status, 'ACTIVE_UNACK');
    assert.equal(raised.severity, 'MAJOR');
    const rpc = await until('the RPC on the device', () => rpcs[0]);
    assert.deepEqual(rpc.body, { method: 'setFan', params: { on: true } });
    const mail = await until('the email', () => mails[0]);
    assert.deepEqual(mail.to, ['ops@example.com']);
    assert.match(mail.text, /Subject: Overheating on boiler-1/);
    assert.match(mail.text, /Temperature 35/);
    const call = await until('the webhook', () => hooks[0]);
    assert.equal(call.valid, true, 'the HMAC signature verifies');

    // 28 is below 30 but within the 5 of hysteresis: still overheating.
    await send({ temperature: 28 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await alarms())[0]?.status, 'ACTIVE_UNACK');
    await send({ temperature: 24 });
    const cleared = await until('the clear', async () => {
      const a = (await alarms())[0];
      return a?.status === 'CLEARED_UNACK' ? a : undefined;
    });
    const ack = await h.call('POST', `/api/alarms/${cleared.id}/ack`, { token });
    assert.equal(ack.status, 200);
    assert.equal(ack.body.status, 'CLEARED_ACK');
    assert.equal(rpcs.length, 1, 'one command for one rise');

    // The failing rule was evaluated on each message (3) and failed each time; the alarm rule was unaffected.
    for (let i = 0; i < 7; i++) await send({ temperature: 20 + i });
    const disabled = await until('the failing rule disabled', async () => {
      const r = (await h.call('GET', `/api/rules/${failing.body.id}`, { token })).body;
      return r.enabled === false ? r : undefined;
    });
    assert.match(disabled.disabledReason, /disabled after 10 failed evaluations in a row; the last: .*sensor boiler-1 broke/);
    const trace = (await h.call('GET', `/api/rules/${failing.body.id}/trace`, { token })).body as { error: string | null }[];
    assert.ok(trace.length > 0 && trace.every((e) => e.error?.includes('broke')), JSON.stringify(trace));
    const good = (await h.call('GET', `/api/rules/${rule.body.id}`, { token })).body;
    assert.equal(good.enabled, true);
    assert.equal(good.stats.errors, 0);
    const deliveries = (await h.call('GET', '/api/notification-deliveries', { token })).body.items as { status: string }[];
    assert.ok(deliveries.length >= 2 && deliveries.every((d) => d.status === 'SENT'), JSON.stringify(deliveries));

    const metrics = (await h.call('GET', '/metrics')).body as string;
    const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.equal(metric('thingstead_rules_loaded'), 1, 'the alarm rule runs, the failing one stopped');
    assert.equal(metric('thingstead_rules_disabled_total'), 1);
    assert.equal(metric('thingstead_rules_errors_total'), 10);
    assert.ok(metric('thingstead_rules_evaluations_total') >= 20, metrics);
  });
});
