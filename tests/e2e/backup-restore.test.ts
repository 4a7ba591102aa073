// Backup while writing, then restore and compare, through the real CLI: `thingstead backup` runs beside a
// server that keeps taking telemetry; every value acknowledged before the backup began is back, unchanged,
// after `thingstead restore` into a new directory, and nothing is there that was never sent. Restore refuses a
// running server's directory, a directory with data (unless --force), a damaged file and a newer schema.
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli, waitFor, type CliProcess } from './cli-process';

const root = mkdtempSync(join(tmpdir(), 'thingstead-backup-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});
const password = 'backup-test-password';
const envOf = (dir: string) => ({
  THINGSTEAD_DATA_DIR: join(root, dir),
  THINGSTEAD_HTTP_PORT: '0',
  THINGSTEAD_MQTT_PORT: '0',
  THINGSTEAD_HOST: '127.0.0.1',
  THINGSTEAD_ADMIN_PASSWORD: password,
});
const start = async (dir: string): Promise<{ p: CliProcess; url: string }> => {
  const p = runCli(['start'], envOf(dir));
  const line = await waitFor(() => p.lines.find((l) => l.httpPort), 'the listening line');
  return { p, url: `http://127.0.0.1:${String(line.httpPort)}` };
};
const stop = async (p: CliProcess): Promise<void> => {
  p.child.kill('SIGTERM');
  assert.equal(await p.exit, 0);
};
const cli = async (args: string[], dir: string): Promise<{ code: number | null; err: string }> => {
  const p = runCli(args, envOf(dir));
  const code = await p.exit;
  return { code, err: p.stderr() };
};
const json = async (url: string, init: RequestInit & { token?: string } = {}): Promise<any> => {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const r = await fetch(url, { ...init, headers });
  assert.ok(r.ok, `${url}: ${r.status} ${await r.clone().text()}`);
  return r.json();
};
const login = async (url: string): Promise<string> =>
  (await json(`${url}/api/auth/login`, { method: 'POST', body: JSON.stringify({ email: 'admin@thingstead.local', password }) })).token;

test('backup while writing, restore into a new directory: everything acknowledged before the backup is back', async () => {
  const { p, url } = await start('live');
  const token = await login(url);
  const devices: { id: string; token: string }[] = [];
  for (let i = 0; i < 3; i++) {
    const d = await json(`${url}/api/devices`, { method: 'POST', token, body: JSON.stringify({ name: `pump-${i}` }) });
    const c = await json(`${url}/api/devices/${d.id}/credentials`, { token });
    devices.push({ id: d.id, token: c.accessToken });
  }
  // Writers: each device sends stop-and-wait; acked[device] lists the ts of every acknowledged value.
  const t0 = Date.UTC(2026, 10, 1);
  const acked = new Map<string, number[]>(devices.map((d) => [d.id, []]));
  let writing = true;
  const writers = devices.map(async (d, k) => {
    for (let n = 0; writing; n++) {
      const ts = t0 + n * 1000;
      const r = await fetch(`${url}/api/v1/${d.token}/telemetry`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ts, values: { level: n * 0.5 + k, state: `s${n}` } }),
      });
      if (r.ok) acked.get(d.id)?.push(ts);
    }
  });
  await waitFor(() => [...acked.values()].every((a) => a.length >= 50), 'some values acknowledged');
  const before = new Map([...acked].map(([id, a]) => [id, a.length]));
  const file = join(root, 'state.tar.gz');
  const backup = await cli(['backup', file], 'live');
  assert.equal(backup.code, 0, backup.err);
  writing = false;
  await Promise.all(writers);
  await stop(p);

  // Restore refuses a directory with data, and a damaged file.
  const busy = await cli(['restore', file], 'live');
  assert.equal(busy.code, 1);
  assert.match(busy.err, /already holds data .*--force/);
  const damaged = join(root, 'damaged.tar.gz');
  writeFileSync(damaged, readFileSync(file).subarray(0, 2000));
  const bad = await cli(['restore', damaged], 'fresh');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /not a readable Thingstead backup|damaged/);
  assert.ok(!existsSync(join(root, 'fresh', 'thingstead.db')), 'nothing was restored from the damaged file');

  const restored = await cli(['restore', file], 'fresh');
  assert.equal(restored.code, 0, restored.err);
  const again = await start('fresh');
  const t2 = await login(again.url);
  for (const [k, d] of devices.entries()) {
    const got = await json(`${again.url}/api/devices/${d.id}/telemetry?keys=level,state&from=0&limit=100000`, { token: t2 });
    const level: { ts: number; value: number }[] = got.data.level ?? [];
    const state: { ts: number; value: string }[] = got.data.state ?? [];
    const sent = acked.get(d.id) ?? [];
    assert.ok(level.length >= (before.get(d.id) ?? 0), `device ${k}: ${level.length} values back, ${before.get(d.id)} acknowledged before the backup`);
    const byTs = new Map(level.map((v) => [v.ts, v.value]));
    for (const ts of sent.slice(0, before.get(d.id))) assert.equal(byTs.get(ts), ((ts - t0) / 1000) * 0.5 + k, `device ${k} ts ${ts}`);
    for (const v of level) assert.ok(sent.includes(v.ts) || v.ts <= (sent.at(-1) ?? 0) + 1000, `device ${k}: ts ${v.ts} was sent`);
    for (const v of state) assert.equal(v.value, `s${(v.ts - t0) / 1000}`);
  }
  // The device tokens (in the database) and the sessions' signing secret (jwt-secret) came along.
  const r = await fetch(`${again.url}/api/v1/${devices[0]?.token}/telemetry`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"level":1}',
  });
  assert.equal(r.status, 200);
  assert.equal((await fetch(`${again.url}/api/devices`, { headers: { authorization: `Bearer ${token}` } })).status, 200, 'an old access token still works');
  const running = await cli(['restore', '--force', file], 'fresh');
  assert.equal(running.code, 1);
  assert.match(running.err, /in use by a running Thingstead/);
  await stop(again.p);

  // --force moves the replaced files aside, and a backup of a newer schema is refused.
  const forced = await cli(['restore', '--force', file], 'fresh');
  assert.equal(forced.code, 0, forced.err);
  assert.ok(readdirSync(join(root, 'fresh')).some((n) => n.startsWith('replaced-')));
  const db = new Database(join(root, 'fresh', 'thingstead.db'));
  db.pragma('user_version = 999');
  db.close();
  const newer = await cli(['start'], 'fresh');
  assert.equal(newer.code, 1);
  assert.match(newer.err, /schema version 999, newer than this Thingstead's .*not changed/);
});
