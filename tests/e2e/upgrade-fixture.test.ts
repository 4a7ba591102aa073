// Upgrades: a data directory made by an earlier version (tests/fixtures/data-<version>/, made with that
// version's `thingstead start` and its REST and device APIs, then a clean stop) is opened by the current code
// through the real CLI, migrated, and nothing in it is lost. Every schema change adds a fixture of the version
// before it here (docs/operations/backup.md, "Upgrades").
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli, waitFor } from './cli-process';

const fixtures = new URL('../fixtures/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'thingstead-upgrade-'));
after(() => {
  rmSync(work, { recursive: true, force: true });
});

// data-0.1.0: admin password fixture-password-0.1.0; one device; 300 values a minute apart from ts 1790000000000,
// value i: temp (i % 40) + 0.5, mode "m<i % 3>", on (i even), cfg {n: i}.
test('a data directory of 0.1.0 opens and keeps its accounts, devices, credentials and telemetry', async () => {
  const dataDir = join(work, 'data-0.1.0');
  cpSync(join(fixtures, 'data-0.1.0'), dataDir, { recursive: true });
  const expected = JSON.parse(readFileSync(join(dataDir, 'expected.json'), 'utf8')) as { deviceId: string; deviceToken: string };
  const p = runCli(['start'], { THINGSTEAD_DATA_DIR: dataDir, THINGSTEAD_HTTP_PORT: '0', THINGSTEAD_MQTT_PORT: '0', THINGSTEAD_HOST: '127.0.0.1' });
  try {
    const line = await waitFor(() => p.lines.find((l) => l.httpPort), 'the listening line');
    const url = `http://127.0.0.1:${String(line.httpPort)}`;
    const login = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'admin@thingstead.local', password: 'fixture-password-0.1.0' }),
    });
    assert.equal(login.status, 200, 'the admin and its password hash are kept');
    const auth = { authorization: `Bearer ${((await login.json()) as { token: string }).token}` };
    const device = (await (await fetch(`${url}/api/devices/${expected.deviceId}`, { headers: auth })).json()) as { name: string; label: string };
    assert.deepEqual([device.name, device.label], ['fixture-boiler', 'Boiler 1']);
    const r = await fetch(`${url}/api/devices/${expected.deviceId}/telemetry?keys=temp,mode,on,cfg&from=0&limit=1000`, { headers: auth });
    const data = ((await r.json()) as { data: Record<string, { ts: number; value: unknown }[]> }).data;
    const want = (f: (i: number) => unknown) => Array.from({ length: 300 }, (_, i) => ({ ts: 1790000000000 + i * 60000, value: f(i) }));
    const byTs = (a: { ts: number; value: unknown }[] = []) => [...a].sort((x, y) => x.ts - y.ts);
    assert.deepEqual(
      byTs(data.temp),
      want((i) => (i % 40) + 0.5),
    );
    assert.deepEqual(
      byTs(data.mode),
      want((i) => `m${i % 3}`),
    );
    assert.deepEqual(
      byTs(data.on),
      want((i) => i % 2 === 0),
    );
    assert.deepEqual(
      byTs(data.cfg),
      want((i) => ({ n: i })),
    );
    const post = await fetch(`${url}/api/v1/${expected.deviceToken}/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"temp":1}',
    });
    assert.equal(post.status, 200, 'the device token is kept');
    // Attributes came after 0.1.0 (migration 8): the migrated data takes and gives them.
    const set = await fetch(`${url}/api/devices/${expected.deviceId}/attributes/shared`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"interval":30}',
    });
    assert.equal(set.status, 200, await set.clone().text());
    const twin = (await (await fetch(`${url}/api/devices/${expected.deviceId}/twin`, { headers: auth })).json()) as {
      version: number;
      desired: Record<string, { value: unknown }>;
      delta: Record<string, { value: unknown }>;
    };
    assert.deepEqual([twin.version, twin.desired.interval?.value, twin.delta.interval?.value], [1, 30, 30]);
    // Gateways and connectivity came after that (a device's gateway flag and link, each profile's inactivity
    // timeout, a stored connected flag): the migrated rows have their defaults.
    const migrated = (await (await fetch(`${url}/api/devices/${expected.deviceId}`, { headers: auth })).json()) as {
      gateway: boolean;
      gatewayId: string | null;
      connected: boolean;
      profileId: string;
    };
    assert.deepEqual([migrated.gateway, migrated.gatewayId, migrated.connected], [false, null, false]);
    const profile = (await (await fetch(`${url}/api/device-profiles/${migrated.profileId}`, { headers: auth })).json()) as { inactivityTimeoutSec: number };
    assert.equal(profile.inactivityTimeoutSec, 600);
    // Persistent RPCs came after attributes (the rpcs table): a call for the migrated device is stored and listed.
    const queued = await fetch(`${url}/api/devices/${expected.deviceId}/rpc`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"method":"reboot","persistent":true}',
    });
    assert.equal(queued.status, 200, await queued.clone().text());
    const rpcs = (await (await fetch(`${url}/api/devices/${expected.deviceId}/rpc`, { headers: auth })).json()) as {
      items: { method: string; status: string }[];
    };
    assert.deepEqual(
      rpcs.items.map((r) => [r.method, r.status]),
      [['reboot', 'QUEUED']],
    );
    // Alarms came after RPCs (the alarms and alarm_comments tables): the migrated data lists and counts none.
    const alarms = await fetch(`${url}/api/devices/${expected.deviceId}/alarms`, { headers: auth });
    assert.equal(alarms.status, 200, await alarms.clone().text());
    assert.equal(((await alarms.json()) as { total: number }).total, 0);
    const counts = (await (await fetch(`${url}/api/alarms/counts`, { headers: auth })).json()) as { activeTotal: number };
    assert.equal(counts.activeTotal, 0);
  } finally {
    p.child.kill('SIGTERM');
    assert.equal(await p.exit, 0);
  }
});
