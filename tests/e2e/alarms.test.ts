// Alarms end to end: raised through the running server's core (as the rule engine does: rules run inside the
// process, so there is no outside API to raise one), then listed, filtered, acknowledged, commented and cleared
// over REST by real users, and seen arriving on a real WebSocket alarms subscription.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { startHarness, type Harness } from './harness';

/** A live API client: every message kept; waits for one that matches. */
class LiveClient {
  readonly got: any[] = [];
  private waiters: { match: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString('utf8'));
      this.got.push(m);
      const matched = this.waiters.filter((w) => w.match(m));
      this.waiters = this.waiters.filter((w) => !w.match(m));
      for (const w of matched) w.resolve(m);
    });
  }
  next(match: (m: any) => boolean, timeoutMs = 5000): Promise<any> {
    const had = this.got.find(match);
    if (had) return Promise.resolve(had);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(this.got).slice(-800)}`));
      }, timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      });
    });
  }
}

describe('alarms over REST and the live WebSocket API', () => {
  let h: Harness;
  let admin: string;
  let viewer: string;
  let stranger: string;
  let tenantId: string;
  let boiler: { id: string };
  let pump: { id: string };
  const sockets: WebSocket[] = [];

  before(async () => {
    h = await startHarness();
    admin = await h.login();
    tenantId = (await h.call('GET', '/api/auth/me', { token: admin })).body.user.tenantId as string;
    const other = (await h.call('POST', '/api/tenants', { token: admin, body: { name: 'Other' } })).body.id as string;
    const user = async (email: string, role: string, tenant: string) => {
      const r = await h.call('POST', '/api/users', { token: admin, body: { email, password: 'password-123', role, tenantId: tenant } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return h.login(email, 'password-123');
    };
    viewer = await user('viewer@a.example', 'viewer', tenantId);
    stranger = await user('bob@b.example', 'tenant-admin', other);
    boiler = await h.createDevice(admin, 'boiler-1');
    pump = await h.createDevice(admin, 'pump-1');
  });
  after(async () => {
    for (const ws of sockets) ws.terminate();
    await h.stop();
  });

  const raise = (deviceId: string, type: string, severity: 'CRITICAL' | 'MAJOR' | 'MINOR' | 'WARNING', details: Record<string, unknown> = {}) =>
    h.app.core.alarms.raise({ tenantId, deviceId, type, severity, at: Date.now(), details, ruleId: 'rule-e2e' });

  test('raised in core, listed and filtered, acknowledged, commented and cleared over REST; seen live on /api/ws', async () => {
    const first = await raise(boiler.id, 'High temperature', 'MAJOR', { temp: 81 });
    await raise(pump.id, 'Low pressure', 'WARNING');

    const ws = new WebSocket(`ws://127.0.0.1:${h.app.httpPort}/api/ws`, { headers: { authorization: `Bearer ${viewer}` } });
    sockets.push(ws);
    const c = new LiveClient(ws);
    await c.next((m) => m.type === 'authenticated');
    ws.send(JSON.stringify({ type: 'subscribe', id: 'al', kind: 'alarms', target: { filter: {} }, severities: ['CRITICAL', 'MAJOR'] }));
    const snapshot = await c.next((m) => m.id === 'al' && m.type === 'alarms');
    assert.deepEqual([snapshot.alarms.map((a: any) => a.id), snapshot.more], [[first.alarm.id], false], 'the active alarms of the severities asked for');

    const escalated = await raise(boiler.id, 'High temperature', 'CRITICAL', { temp: 95 });
    assert.deepEqual([escalated.change, escalated.alarm.id], ['escalated', first.alarm.id]);
    const liveEscalated = await c.next((m) => m.id === 'al' && m.type === 'alarm' && m.change === 'escalated');
    assert.deepEqual([liveEscalated.deviceId, liveEscalated.alarm.severity, liveEscalated.alarm.details], [boiler.id, 'CRITICAL', { temp: 95 }]);

    const list = await h.call('GET', '/api/alarms?status=ACTIVE&severity=CRITICAL,WARNING', { token: viewer });
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.deepEqual(list.body.items.map((a: any) => [a.type, a.severity, a.status]).sort(), [
      ['High temperature', 'CRITICAL', 'ACTIVE_UNACK'],
      ['Low pressure', 'WARNING', 'ACTIVE_UNACK'],
    ]);
    const ofBoiler = await h.call('GET', `/api/devices/${boiler.id}/alarms`, { token: viewer });
    assert.deepEqual([ofBoiler.body.total, ofBoiler.body.items[0].ruleId], [1, 'rule-e2e']);
    const bad = await h.call('GET', '/api/alarms?severity=CRITICAL,HIGH', { token: viewer });
    assert.deepEqual([bad.status, bad.body.code, bad.body.details?.field], [400, 'THINGSTEAD_ERR_VALIDATION', 'severity']);
    const counts = await h.call('GET', '/api/alarms/counts', { token: viewer });
    assert.deepEqual(counts.body, {
      active: { CRITICAL: 1, MAJOR: 0, MINOR: 0, WARNING: 1, INDETERMINATE: 0 },
      activeTotal: 2,
      unacknowledged: 2,
      activeUnacknowledged: 2,
    });

    const id = first.alarm.id;
    assert.equal((await h.call('POST', `/api/alarms/${id}/ack`, { token: viewer })).status, 403, 'a viewer reads but does not act');
    assert.equal((await h.call('GET', `/api/alarms/${id}`, { token: stranger })).status, 404, 'another tenant does not see it');
    const acked = await h.call('POST', `/api/alarms/${id}/ack`, { token: admin });
    assert.deepEqual([acked.status, acked.body.status], [200, 'ACTIVE_ACK']);
    const again = await h.call('POST', `/api/alarms/${id}/ack`, { token: admin });
    assert.deepEqual([again.status, again.body], [200, acked.body], 'idempotent');
    const posted = await h.call('POST', `/api/alarms/${id}/comments`, { token: admin, body: { text: 'Technician on the way' } });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const empty = await h.call('POST', `/api/alarms/${id}/comments`, { token: admin, body: { text: '' } });
    assert.equal(empty.status, 400);
    const cleared = await h.call('POST', `/api/alarms/${id}/clear`, { token: admin });
    assert.deepEqual([cleared.status, cleared.body.status, cleared.body.clearTs !== null], [200, 'CLEARED_ACK', true]);
    assert.deepEqual((await h.call('POST', `/api/alarms/${id}/clear`, { token: admin })).body, cleared.body, 'idempotent');
    const comments = await h.call('GET', `/api/alarms/${id}/comments`, { token: viewer });
    assert.deepEqual(
      comments.body.items.map((x: any) => [x.userId === null, x.text.split(' ')[0]]),
      [
        [true, 'Severity'],
        [true, 'Acknowledged'],
        [false, 'Technician'],
        [true, 'Cleared'],
      ],
    );
    await c.next((m) => m.id === 'al' && m.type === 'alarm' && m.change === 'acknowledged');
    await c.next((m) => m.id === 'al' && m.type === 'alarm' && m.change === 'cleared' && m.alarm.status === 'CLEARED_ACK');

    // Cleared: the next raise is a new alarm.
    const reraised = await raise(boiler.id, 'High temperature', 'MAJOR');
    assert.equal(reraised.change, 'created');
    assert.notEqual(reraised.alarm.id, id);
    await c.next((m) => m.id === 'al' && m.type === 'alarm' && m.change === 'created' && m.alarm.id === reraised.alarm.id);
    assert.equal((await h.call('DELETE', `/api/alarms/${reraised.alarm.id}`, { token: viewer })).status, 403);
    assert.equal((await h.call('DELETE', `/api/alarms/${reraised.alarm.id}`, { token: admin })).status, 204);
    assert.equal((await h.call('GET', `/api/alarms/${reraised.alarm.id}`, { token: admin })).status, 404);
    await c.next((m) => m.id === 'al' && m.type === 'alarm' && m.change === 'deleted');
    const history = await h.call('GET', `/api/devices/${boiler.id}/alarms?status=CLEARED`, { token: viewer });
    assert.deepEqual(
      history.body.items.map((a: any) => a.id),
      [id],
    );
  });

  test('alarms go with their device', async () => {
    const d = await h.createDevice(admin, 'doomed-1');
    const { alarm } = await raise(d.id, 'Offline', 'MINOR');
    assert.equal((await h.call('DELETE', `/api/devices/${d.id}`, { token: admin })).status, 204);
    assert.equal((await h.call('GET', `/api/alarms/${alarm.id}`, { token: admin })).status, 404);
  });
});
