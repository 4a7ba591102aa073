// Admin recovery on a real data directory, through the real CLI: the first start's credentials whatever the
// log level, a configured password that is ignored says so, `thingstead admin reset-password` / `create-user`
// work while the server is stopped and refuse while it runs, and a second server refuses the same directory.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCli, waitFor, type CliProcess } from './cli-process';

const dataDir = mkdtempSync(join(tmpdir(), 'thingstead-admin-'));
after(() => {
  rmSync(dataDir, { recursive: true, force: true });
});
const env = { THINGSTEAD_DATA_DIR: dataDir, THINGSTEAD_HTTP_PORT: '0', THINGSTEAD_MQTT_PORT: '0', THINGSTEAD_HOST: '127.0.0.1' };
const email = 'admin@thingstead.local';

const start = async (extra: Record<string, string> = {}): Promise<{ p: CliProcess; url: string }> => {
  const p = runCli(['start'], { ...env, ...extra });
  const line = await waitFor(() => p.lines.find((l) => l.httpPort), 'the listening line');
  return { p, url: `http://127.0.0.1:${String(line.httpPort)}` };
};
const stop = async (p: CliProcess): Promise<void> => {
  p.child.kill('SIGTERM');
  assert.equal(await p.exit, 0);
};
const login = async (url: string, user: string, password: string): Promise<number> =>
  (await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user, password }) }))
    .status;
const admin = async (args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> => {
  const p = runCli(['admin', ...args], env);
  if (stdin !== undefined) p.child.stdin.end(stdin);
  const code = await p.exit;
  return { code, out: p.lines.map((l: { text?: string }) => l.text ?? JSON.stringify(l)).join('\n'), err: p.stderr() };
};

test('admin recovery: credentials at any log level, ignored settings warned about, offline reset and create-user', async () => {
  // 1. First start at log level error (so no log line at all): the generated password is still printed on stderr.
  const first = runCli(['start'], { ...env, THINGSTEAD_LOG_LEVEL: 'error' });
  const m = await waitFor(() => /password: +(\S+)/.exec(first.stderr()) ?? undefined, 'the printed password');
  assert.deepEqual(first.lines, [], 'nothing is logged at level error');
  await stop(first);

  // 2. A later start with THINGSTEAD_ADMIN_PASSWORD: ignored, and the log says so.
  const second = await start({ THINGSTEAD_ADMIN_PASSWORD: 'a-password-nobody-uses' });
  assert.ok(
    second.p.lines.some((l: { level?: number; msg?: string }) => l.level === 40 && /set but ignored/.test(l.msg ?? '')),
    'a warning names the ignored setting',
  );
  assert.equal(await login(second.url, email, 'a-password-nobody-uses'), 401);
  assert.equal(await login(second.url, email, m[1] as string), 200);

  // 3. While it runs, the offline commands and a second server refuse the data directory.
  const busy = await admin(['reset-password', '--email', email]);
  assert.equal(busy.code, 1);
  assert.match(busy.err, /in use by a running Thingstead \(process \d+\)/);
  const twin = runCli(['start'], env);
  assert.equal(await twin.exit, 1);
  assert.match(twin.stderr(), /in use by a running Thingstead/);
  await stop(second.p);

  // 4. Stopped: reset with a generated password, then with one piped in; create a user; bad input is refused.
  const reset = await admin(['reset-password', '--email', email]);
  assert.equal(reset.code, 0, reset.err);
  const generated = /password: +(\S+)/.exec(reset.out)?.[1];
  assert.ok(generated !== undefined && generated.length >= 20, reset.out);
  const piped = await admin(['reset-password', '--email', email, '--password-stdin'], 'chosen-by-the-operator\n');
  assert.equal(piped.code, 0, piped.err);
  assert.doesNotMatch(piped.out, /password:/, 'a password given is not printed');
  const created = await admin(['create-user', '--email', 'ops@example.com', '--role', 'viewer'], undefined);
  assert.equal(created.code, 0, created.err);
  const viewerPassword = /password: +(\S+)/.exec(created.out)?.[1] ?? '';
  const unknown = await admin(['reset-password', '--email', 'nobody@example.com']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /No user has the email nobody@example\.com/);
  const noRole = await admin(['create-user', '--email', 'x@example.com']);
  assert.equal(noRole.code, 2);
  assert.match(noRole.err, /--role must be one of admin, tenant-admin, viewer/);
  const weak = await admin(['reset-password', '--email', email, '--password-stdin'], 'short\n');
  assert.equal(weak.code, 1, 'a weak password is refused with the API rule');

  // 5. The server sees it all: the old password no longer works, the piped one and the new user do.
  const third = await start();
  assert.equal(await login(third.url, email, m[1] as string), 401);
  assert.equal(await login(third.url, email, generated), 401, 'replaced by the piped password');
  assert.equal(await login(third.url, email, 'chosen-by-the-operator'), 200);
  assert.equal(await login(third.url, 'ops@example.com', viewerPassword), 200);
  await stop(third.p);
});
