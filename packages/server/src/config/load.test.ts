import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, loadConfig } from './load';
import { envName } from './schema';

const dir = mkdtempSync(join(tmpdir(), 'thingstead-config-'));

test('defaults apply with no file and no environment', () => {
  const c = loadConfig({ env: {}, cwd: dir });
  assert.equal(c.http.port, 8080);
  assert.equal(c.host, '0.0.0.0');
  assert.equal(c.dataDir, './data');
  assert.equal(c.telemetry.retentionDays, 0);
  assert.ok(Object.isFrozen(c.http), 'config is frozen');
});

test('environment overrides the file, and names follow the path', () => {
  const file = join(dir, 'a.yaml');
  writeFileSync(file, 'http:\n  port: 9000\ntelemetry:\n  retentionDays: 7\n');
  const c = loadConfig({ env: { THINGSTEAD_HTTP_PORT: '0', THINGSTEAD_ADMIN_EMAIL: 'ops@example.com' }, cwd: dir, file });
  assert.equal(c.http.port, 0);
  assert.equal(c.telemetry.retentionDays, 7);
  assert.equal(c.admin.email, 'ops@example.com');
  assert.equal(envName(['telemetry', 'retentionDays']), 'THINGSTEAD_TELEMETRY_RETENTION_DAYS');
  assert.equal(envName(['dataDir']), 'THINGSTEAD_DATA_DIR');
});

test('every problem is listed at once', () => {
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'http:\n  port: 70000\n  nonsense: 1\n');
  try {
    loadConfig({ env: { THINGSTEAD_LOG_LEVEL: 'loud', THINGSTEAD_HTTP_PROT: '1', THINGSTEAD_TELEMETRY_RETENTION_DAYS: 'ten' }, cwd: dir, file });
    assert.fail('expected ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const text = e.problems.join('\n');
    assert.match(text, /http\.port \(THINGSTEAD_HTTP_PORT\)/);
    assert.match(text, /nonsense/);
    assert.match(text, /log\.level/);
    assert.match(text, /THINGSTEAD_HTTP_PROT: unknown setting/);
    assert.match(text, /telemetry\.retentionDays/);
    assert.ok(e.problems.length >= 5, text);
  }
});

test('settings that contradict each other are reported', () => {
  assert.throws(
    () => loadConfig({ env: { THINGSTEAD_TELEMETRY_MAX_POINTS_PER_MESSAGE: '5000', THINGSTEAD_TELEMETRY_MAX_PENDING_POINTS: '1000' }, cwd: dir }),
    /maxPointsPerMessage must not exceed telemetry\.maxPendingPoints/,
  );
  assert.throws(() => loadConfig({ env: { THINGSTEAD_MQTTS_PORT: '8883' }, cwd: dir }), /needs mqtts\.certFile and mqtts\.keyFile/);
});

test('a named config file that does not exist is an error; malformed YAML is reported', () => {
  assert.throws(() => loadConfig({ env: {}, cwd: dir, file: 'missing.yaml' }), /does not exist/);
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'http: [\n');
  assert.throws(() => loadConfig({ env: {}, cwd: dir, file }), ConfigError);
});
