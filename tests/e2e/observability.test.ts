// Logs, health and metrics of the real `thingstead start` process (issue 9, "Observability"): what an operator
// reads in the log, what a load balancer and Kubernetes probe, what Prometheus scrapes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { listening, runCli, startCli, waitFor, type CliProcess } from './cli-process';

const admin = { email: 'admin@example.com', password: 'correct horse battery staple' };
const dirs: string[] = [];
const procs: CliProcess[] = [];

after(() => {
  for (const p of procs) p.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'thingstead-obs-'));
  dirs.push(dataDir);
  return {
    THINGSTEAD_DATA_DIR: dataDir,
    THINGSTEAD_HTTP_PORT: '0',
    THINGSTEAD_MQTT_PORT: '0',
    THINGSTEAD_HOST: '127.0.0.1',
    THINGSTEAD_ADMIN_EMAIL: admin.email,
    THINGSTEAD_ADMIN_PASSWORD: admin.password,
    THINGSTEAD_STORAGE_SQLITE_SYNCHRONOUS: 'normal',
    ...extra,
  };
}

function started(p: CliProcess): CliProcess {
  procs.push(p);
  return p;
}

async function call(url: string, init: RequestInit = {}): Promise<{ status: number; body: any; text: string; headers: Headers }> {
  const r = await fetch(url, init);
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: r.status, body, text, headers: r.headers };
}

async function device(base: string): Promise<{ auth: string; deviceId: string; token: string }> {
  const login = await call(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) });
  const auth = `Bearer ${login.body.token as string}`;
  const dev = await call(`${base}/api/devices`, {
    method: 'POST',
    headers: { authorization: auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `d-${Date.now()}` }),
  });
  const creds = await call(`${base}/api/devices/${dev.body.id as string}/credentials`, { headers: { authorization: auth } });
  return { auth, deviceId: dev.body.id as string, token: creds.body.accessToken as string };
}

describe('logs of thingstead start', () => {
  test('JSON lines: one per HTTP request with the route pattern, MQTT connect and disconnect, rate-limited auth failures, no token anywhere', async () => {
    const srv = started(startCli(env()));
    const { httpPort, mqttPort } = await listening(srv);
    const base = `http://127.0.0.1:${httpPort}`;
    const { token, deviceId } = await device(base);

    const post = await call(`${base}/api/v1/${token}/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"t":1}' });
    assert.equal(post.status, 200);
    const line = await waitFor(() => srv.lines.find((l) => l.route === '/api/v1/:token/telemetry' && l.method === 'POST'), 'the request line');
    assert.equal(line.level, 30);
    assert.equal(line.status, 200);
    assert.equal(typeof line.ms, 'number');
    assert.equal(line.remoteAddress, '127.0.0.1');
    assert.equal(line.msg, `POST /api/v1/:token/telemetry 200 ${String(line.ms)} ms`);
    // An unmatched path is shown without its token segment or query string.
    await call(`${base}/api/v1/${token}/nowhere?secret=1`);
    const unmatched = await waitFor(() => srv.lines.find((l) => l.status === 404 && l.route === null), 'the 404 line');
    assert.equal(unmatched.path, '/api/v1/[token]/nowhere');
    assert.equal(unmatched.code, 'THINGSTEAD_ERR_ROUTE_NOT_FOUND');

    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'obs-dev-1', username: token, protocolVersion: 5, reconnectPeriod: 0 });
    const connected = await waitFor(
      () => srv.lines.find((l) => l.clientId === 'obs-dev-1' && typeof l.msg === 'string' && l.msg.includes('connected')),
      'connect line',
    );
    assert.equal(connected.level, 30);
    assert.match(connected.principal as string, new RegExp(`^device:.+:${deviceId}$`));
    assert.equal(connected.transport, 'tcp');
    await c.endAsync();
    const gone = await waitFor(() => srv.lines.find((l) => l.clientId === 'obs-dev-1' && l.msg?.includes('disconnected')), 'disconnect line');
    assert.equal(gone.byClient, true);
    assert.equal(typeof gone.reason, 'string');
    assert.equal(gone.principal, connected.principal);

    // 30 refused CONNECTs and 5 refused HTTP calls: warn lines with the address, at most 20 in the window.
    for (let i = 0; i < 30; i++) {
      await assert.rejects(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `bad-${i}`, username: `wrong-token-${i}`, reconnectPeriod: 0 }));
    }
    for (let i = 0; i < 5; i++) assert.equal((await call(`${base}/api/v1/not-a-token-${i}/telemetry`, { method: 'POST', body: '{}' })).status, 401);
    const failures = () => srv.lines.filter((l) => l.level === 40 && l.msg?.includes('authentication failed'));
    await waitFor(() => failures().length >= 20, '20 auth-failure lines');
    assert.equal(failures().length, 20, 'no more than 20 per window');
    assert.ok(failures().every((l) => l.remoteAddress === '127.0.0.1' && typeof l.reason === 'string'));
    assert.ok(failures().some((l) => l.transport === 'mqtt' && l.clientId === 'bad-0'));

    const metrics = await call(`${base}/metrics`);
    assert.match(metrics.text, /thingstead_auth_failures_total\{transport="mqtt"\} 30/);
    assert.match(metrics.text, /thingstead_auth_failures_total\{transport="http"\} 5/);

    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
    // What was held back is summed up (at the latest at shutdown).
    const summary = srv.lines.find((l) => l.suppressed !== undefined);
    assert.equal(summary?.suppressed, 15);
    assert.equal(summary?.top['127.0.0.1'], 15);
    assert.ok(srv.lines.some((l) => l.msg === 'Thingstead stopped'));

    // Every line is one JSON object with one msg key; no credential appears anywhere.
    for (const raw of srv.raw) {
      assert.doesNotThrow(() => JSON.parse(raw), raw);
      assert.equal(raw.match(/"msg":/g)?.length, 1, raw);
    }
    const all = srv.raw.join('\n') + srv.stderr();
    assert.equal(all.includes(token), false, 'the device token is never logged');
    assert.equal(all.includes('wrong-token-'), false, 'nor a refused one');
    assert.equal(all.includes(admin.password), false);
  });

  test('--pretty writes readable lines instead of JSON', async () => {
    const srv = started(runCli(['start', '--pretty'], env()));
    await waitFor(() => srv.raw.find((l) => l.includes('listening on')), 'the listening line');
    const shown = srv.raw.find((l) => l.includes('listening on')) ?? '';
    assert.throws(() => JSON.parse(shown));
    assert.match(shown, /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO/);
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
    assert.ok(srv.raw.some((l) => /INFO.*SIGTERM: shutting down/.test(l)));
  });
});

describe('health and metrics endpoints', () => {
  test('/healthz is liveness, /readyz names every check', async () => {
    const srv = started(startCli(env()));
    const { httpPort } = await listening(srv);
    const live = await call(`http://127.0.0.1:${httpPort}/healthz`);
    assert.equal(live.status, 200);
    assert.equal(live.body.status, 'ok');
    const ready = await call(`http://127.0.0.1:${httpPort}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(ready.body.checks, { server: 'ok', database: 'ok', mqtt: 'ok', http: 'ok' });
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
  });

  test('promtool check metrics passes on /metrics after traffic; every _total is a counter and every counter ends in _total', async () => {
    const srv = started(startCli(env()));
    const { httpPort, mqttPort } = await listening(srv);
    const base = `http://127.0.0.1:${httpPort}`;
    const { token } = await device(base);
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { username: token, reconnectPeriod: 0 });
    await c.publishAsync('v1/devices/me/telemetry', '{"temp":21.5}', { qos: 1 });
    await c.endAsync();
    assert.equal(
      (await call(`${base}/api/v1/${token}/telemetry`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"x":' })).status,
      400,
    );
    const text = (await call(`${base}/metrics`)).text;
    // promtool reads the exposition on stdin and exits non-zero on any problem it finds.
    const out = execFileSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.trim(), '');
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']));
    assert.ok(types.size > 40);
    for (const [name, type] of types) {
      if (name.endsWith('_total')) assert.equal(type, 'counter', `${name} ends in _total but is a ${type}`);
      if (type === 'counter') assert.ok(name.endsWith('_total'), `${name} is a counter without _total`);
    }
    assert.match(text, /thingstead_mqtt_messages_received_total 1\n/);
    assert.match(text, /thingstead_telemetry_rejected_total\{transport="http",reason="THINGSTEAD_ERR_BAD_JSON"\} 1/);
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
  });

  test('metrics.port serves /metrics apart from the API, and metrics.bearerToken guards it', async () => {
    const secret = 'metrics-secret-0123456789';
    const srv = started(startCli(env({ THINGSTEAD_METRICS_PORT: '0', THINGSTEAD_METRICS_BEARER_TOKEN: secret })));
    const { httpPort } = await listening(srv);
    const start = await waitFor(() => srv.lines.find((l) => typeof l.metricsPort === 'number'), 'the metrics port');
    const ops = `http://127.0.0.1:${String(start.metricsPort)}`;
    assert.equal((await call(`http://127.0.0.1:${httpPort}/metrics`)).status, 404, 'not on the API port');
    const refused = await call(`${ops}/metrics`);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await call(`${ops}/metrics`, { headers: { authorization: 'Bearer wrong-token-000000000' } })).status, 401);
    const ok = await call(`${ops}/metrics`, { headers: { authorization: `Bearer ${secret}` } });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^# HELP /m);
    const ready = await call(`${ops}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.metrics, 'ok');
    assert.equal((await call(`${ops}/api/devices`)).status, 404, 'the ops port serves nothing else');
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
  });

  test('on the API port, metrics.bearerToken answers 401 in the standard error shape', async () => {
    const secret = 'metrics-secret-abcdefghij';
    const srv = started(startCli(env({ THINGSTEAD_METRICS_BEARER_TOKEN: secret })));
    const { httpPort } = await listening(srv);
    const refused = await call(`http://127.0.0.1:${httpPort}/metrics`);
    assert.equal(refused.status, 401);
    assert.equal(refused.body.code, 'THINGSTEAD_ERR_UNAUTHENTICATED');
    assert.equal((await call(`http://127.0.0.1:${httpPort}/metrics`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
  });
});

describe('the Grafana dashboard and alert rules in docs/operations', () => {
  test('every metric their queries use is exposed by /metrics, and promtool parses every query', async () => {
    const dashboard = JSON.parse(readFileSync(new URL('../../docs/operations/grafana-dashboard.json', import.meta.url), 'utf8')) as { panels: unknown[] };
    const exprs: string[] = [];
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          if (k === 'expr' && typeof x === 'string') exprs.push(x);
          else walk(x);
        }
    };
    walk(dashboard.panels);
    assert.ok(exprs.length >= 10, 'the dashboard has its queries');
    const alertsFile = new URL('../../docs/operations/prometheus-alerts.yml', import.meta.url).pathname;
    const alertExprs = [...readFileSync(alertsFile, 'utf8').matchAll(/^\s+expr: (.+)$/gm)].map((m) => m[1] ?? '');
    assert.ok(alertExprs.length >= 5);
    const srv = started(startCli(env()));
    const { httpPort } = await listening(srv);
    const text = (await call(`http://127.0.0.1:${httpPort}/metrics`)).text;
    const exposed = new Set(
      [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [`${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]])),
    );
    for (const expr of [...exprs, ...alertExprs]) {
      for (const name of expr.match(/\bthingstead_[a-z0-9_]+/g) ?? []) assert.ok(exposed.has(name), `${name} (in ${expr}) is not in /metrics`);
    }
    // Each query parses as PromQL: promtool checks them as recording rules (Grafana's variables filled in).
    const dir = mkdtempSync(join(tmpdir(), 'thingstead-dash-'));
    dirs.push(dir);
    const rules = {
      groups: [
        {
          name: 'dashboard',
          rules: exprs.map((e, i) => ({
            record: `dashboard:q${i}`,
            expr: e.replaceAll('$__rate_interval', '5m').replaceAll('$instance', '.*').replaceAll('$job', '.*'),
          })),
        },
      ],
    };
    writeFileSync(join(dir, 'rules.json'), JSON.stringify(rules));
    const checked = execFileSync('promtool', ['check', 'rules', join(dir, 'rules.json')], { encoding: 'utf8' });
    assert.match(checked, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    assert.match(execFileSync('promtool', ['check', 'rules', alertsFile], { encoding: 'utf8' }), new RegExp(`SUCCESS: ${alertExprs.length} rules found`));
    srv.child.kill('SIGTERM');
    assert.equal(await srv.exit, 0);
  });
});
