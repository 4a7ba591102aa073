import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { after, describe, test } from 'node:test';
import { runCli as run, waitFor } from './cli-process';

const dataDir = mkdtempSync(join(tmpdir(), 'thingstead-cli-'));

/** The first start's credentials, printed on stderr (never into the JSON log). */
const printed = (stderr: string): { email: string; password: string } | undefined => {
  const m = /email: +(\S+)\n +password: +(\S+)/.exec(stderr);
  return m ? { email: m[1] as string, password: m[2] as string } : undefined;
};

const env = { THINGSTEAD_DATA_DIR: dataDir, THINGSTEAD_HTTP_PORT: '0', THINGSTEAD_MQTT_PORT: '0', THINGSTEAD_HOST: '127.0.0.1' };

describe('thingstead CLI', () => {
  after(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('--help prints usage and exits 0; an unknown command exits 2', async () => {
    const help = run(['--help']);
    assert.equal(await help.exit, 0);
    assert.match(help.lines.map((l) => l.text).join('\n'), /thingstead start/);
    const bad = run(['launch']);
    assert.equal(await bad.exit, 2);
    assert.match(bad.stderr(), /Unknown command: launch/);
  });

  test('invalid configuration exits non-zero listing every problem', async () => {
    const r = run(['start'], { ...env, THINGSTEAD_HTTP_PORT: '99999', THINGSTEAD_LOG_LEVEL: 'chatty', THINGSTEAD_NOPE: '1' });
    assert.equal(await r.exit, 2);
    const err = r.stderr();
    assert.match(err, /Invalid configuration/);
    assert.match(err, /THINGSTEAD_HTTP_PORT/);
    assert.match(err, /log\.level/);
    assert.match(err, /THINGSTEAD_NOPE: unknown setting/);
  });

  test('a port in use stops the start with a clear message and does not use up the one-time password', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const fresh = mkdtempSync(join(tmpdir(), 'thingstead-cli-busy-'));
    try {
      const r = run(['start'], { ...env, THINGSTEAD_DATA_DIR: fresh, THINGSTEAD_MQTT_PORT: String(port) });
      assert.equal(await r.exit, 1);
      assert.match(r.stderr(), new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use.*THINGSTEAD_MQTT_PORT`));
      assert.equal(printed(r.stderr()), undefined, 'no admin was created by the failed start');
      const ok = run(['start'], { ...env, THINGSTEAD_DATA_DIR: fresh });
      await waitFor(() => ok.lines.find((l) => l.httpPort), 'listening line');
      assert.ok(printed(ok.stderr()), 'the next start still prints the password');
      ok.child.kill('SIGTERM');
      assert.equal(await ok.exit, 0);
    } finally {
      blocker.close();
      rmSync(fresh, { recursive: true, force: true });
    }
  });

  test('first start prints the generated admin password once; SIGTERM commits pending writes and exits 0', async () => {
    // A long group-commit delay, so the telemetry below is still pending when SIGTERM arrives.
    const first = run(['start'], { ...env, THINGSTEAD_TELEMETRY_GROUP_COMMIT_MAX_DELAY_MS: '1000' });
    const started = await waitFor(() => first.lines.find((l) => l.httpPort), 'listening line');
    const admin = printed(first.stderr());
    assert.ok(admin, 'the generated password is printed on first start');
    assert.ok(admin.password.length >= 20);
    assert.ok(!JSON.stringify(first.lines).includes(admin.password), 'and never logged');
    const url = `http://127.0.0.1:${started.httpPort}`;
    assert.equal(started.urls.http, url, 'the real port is logged when 0 was asked');
    assert.equal((await fetch(`${url}/healthz`)).status, 200);

    const login = (await (
      await fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: admin.email, password: admin.password }),
      })
    ).json()) as { token: string };
    const auth = { authorization: `Bearer ${login.token}`, 'content-type': 'application/json' };
    const device = (await (await fetch(`${url}/api/devices`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'survivor' }) })).json()) as {
      id: string;
    };
    const creds = (await (await fetch(`${url}/api/devices/${device.id}/credentials`, { headers: auth })).json()) as { accessToken: string };
    const posting = fetch(`${url}/api/v1/${creds.accessToken}/telemetry`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ pending: 7 }),
    });
    await new Promise((r) => setTimeout(r, 150));
    first.child.kill('SIGTERM');
    assert.equal((await posting).status, 200, 'the in-flight request completes after commit');
    assert.equal(await first.exit, 0);
    assert.ok(first.lines.some((l) => l.msg === 'Thingstead stopped'));

    const second = run(['start'], env);
    const again = await waitFor(() => second.lines.find((l) => l.httpPort), 'listening line');
    assert.equal(printed(second.stderr()), undefined, 'the password is not printed again');
    const url2 = `http://127.0.0.1:${again.httpPort}`;
    const login2 = (await (
      await fetch(`${url2}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: admin.email, password: admin.password }),
      })
    ).json()) as { token: string };
    const latest = (await (
      await fetch(`${url2}/api/devices/${device.id}/telemetry/latest`, { headers: { authorization: `Bearer ${login2.token}` } })
    ).json()) as { data: { pending?: { value: number } } };
    assert.equal(latest.data.pending?.value, 7, 'the value acknowledged before shutdown survived the restart');
    second.child.kill('SIGINT');
    assert.equal(await second.exit, 0);
  });
});
