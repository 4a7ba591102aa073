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

test('https: a port without both files, a missing file and the HTTP port again are each reported, naming the setting', () => {
  try {
    loadConfig({ env: { THINGSTEAD_HTTPS_PORT: '8080', THINGSTEAD_HTTPS_KEY_FILE: 'no-such-key.pem' }, cwd: dir });
    assert.fail('expected a ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const text = e.problems.join('\n');
    assert.match(
      text,
      /https\.port \(THINGSTEAD_HTTPS_PORT\) needs https\.certFile and https\.keyFile \(THINGSTEAD_HTTPS_CERT_FILE, THINGSTEAD_HTTPS_KEY_FILE\)/,
    );
    assert.match(text, /https\.keyFile \(THINGSTEAD_HTTPS_KEY_FILE\): file no-such-key\.pem does not exist/);
    assert.match(text, /https\.port .* and http\.port .* are both 8080/);
  }
});

test('a named config file that does not exist is an error; malformed YAML is reported', () => {
  assert.throws(() => loadConfig({ env: {}, cwd: dir, file: 'missing.yaml' }), /does not exist/);
  const file = join(dir, 'broken.yaml');
  writeFileSync(file, 'http: [\n');
  assert.throws(() => loadConfig({ env: {}, cwd: dir, file }), ConfigError);
});

test('the broker section: THINGSTEAD_BROKER_* variables over the file, command-line flags over both', () => {
  const file = join(dir, 'broker.yaml');
  writeFileSync(file, 'broker:\n  port: 1884\n  host: 127.0.0.1\n  maxConnections: 10\n');
  const defaults = loadConfig({ env: {}, cwd: dir });
  assert.equal(defaults.broker.port, 1883);
  assert.equal(defaults.broker.allowAnonymous, false);
  assert.equal(defaults.broker.host, undefined, 'unset: every address');
  assert.equal(defaults.broker.dataDir, undefined, 'unset: in memory');
  const fromEnv = loadConfig({
    env: { THINGSTEAD_BROKER_PORT: '1885', THINGSTEAD_BROKER_ALLOW_ANONYMOUS: 'true', THINGSTEAD_BROKER_DATA_DIR: 'b' },
    cwd: dir,
    file,
  });
  assert.equal(fromEnv.broker.port, 1885);
  assert.equal(fromEnv.broker.host, '127.0.0.1');
  assert.equal(fromEnv.broker.maxConnections, 10);
  assert.equal(fromEnv.broker.allowAnonymous, true);
  assert.equal(fromEnv.broker.dataDir, 'b');
  const flagged = loadConfig({
    env: { THINGSTEAD_BROKER_PORT: '1885' },
    cwd: dir,
    file,
    flags: [
      { flag: '--port', path: ['broker', 'port'], value: '0' },
      { flag: '--allow-anonymous', path: ['broker', 'allowAnonymous'], value: true },
    ],
  });
  assert.equal(flagged.broker.port, 0);
  assert.equal(flagged.broker.allowAnonymous, true);
  assert.equal(envName(['broker', 'passwordFile']), 'THINGSTEAD_BROKER_PASSWORD_FILE');
});

test('bad broker settings are all listed, each with the variable or flag it came from', () => {
  try {
    loadConfig({
      env: { THINGSTEAD_BROKER_MAX_PACKET_BYTES: 'big', THINGSTEAD_BROKER_PASSWORD_FILE: 'missing-passwd' },
      cwd: dir,
      flags: [{ flag: '--port', path: ['broker', 'port'], value: '65536' }],
    });
    assert.fail('expected ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const text = e.problems.join('\n');
    assert.match(text, /broker\.port \(--port\): .*got "65536"/);
    assert.match(text, /broker\.maxPacketBytes \(THINGSTEAD_BROKER_MAX_PACKET_BYTES\): .*got "big"/);
    assert.match(text, /broker\.passwordFile \(THINGSTEAD_BROKER_PASSWORD_FILE\): file missing-passwd does not exist/);
  }
});
