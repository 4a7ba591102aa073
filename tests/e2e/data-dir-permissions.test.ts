import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startHarness, type Harness } from './harness';

const mode = (path: string) => statSync(path).mode & 0o777;

/**
 * Issue 6: the data directory and the files holding secrets (databases with password hashes and device
 * tokens, the JWT secret) must be owner-only, whatever the umask. With umask 0 every file would otherwise be
 * world-readable (the data directory 0777, thingstead.db 0644).
 */
describe('the data directory and its files are created owner-only, whatever the umask', { skip: process.platform === 'win32' }, () => {
  let h: Harness;
  let parent: string;
  let dataDir: string;
  let umask: number;
  before(async () => {
    umask = process.umask(0);
    parent = mkdtempSync(join(tmpdir(), 'thingstead-perm-'));
    dataDir = join(parent, 'not', 'yet', 'there');
    h = await startHarness({ THINGSTEAD_DATA_DIR: dataDir });
    const token = await h.login();
    const id = (await h.call('POST', '/api/devices', { token, body: { name: 'perm' } })).body.id;
    const deviceToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken;
    assert.equal((await h.call('POST', `/api/v1/${deviceToken}/telemetry`, { body: { t: 1 } })).status, 200);
  });
  after(async () => {
    await h.stop();
    process.umask(umask);
    rmSync(parent, { recursive: true, force: true });
  });

  test('data dir 0700; thingstead.db, its -wal and -shm, the telemetry log, broker.db and jwt-secret 0600', () => {
    assert.equal(mode(dataDir).toString(8), '700');
    for (const f of ['thingstead.db', 'thingstead.db-wal', 'thingstead.db-shm', 'broker.db', 'jwt-secret']) {
      const path = join(dataDir, f);
      assert.ok(existsSync(path), `${f} exists while running`);
      assert.equal(mode(path).toString(8), '600', f);
    }
    const log = join(dataDir, 'thingstead.db-tslog');
    assert.equal(mode(log).toString(8), '700', 'the telemetry log directory');
    assert.ok(readdirSync(log).length > 0, 'the telemetry log has a segment while running');
    for (const f of readdirSync(log)) assert.equal(mode(join(log, f)).toString(8), '600', `log segment ${f}`);
    for (const f of readdirSync(dataDir)) if (f !== 'thingstead.db-tslog') assert.equal(mode(join(dataDir, f)).toString(8), '600', `every file: ${f}`);
  });
});
