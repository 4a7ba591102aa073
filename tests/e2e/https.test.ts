// HTTPS and WSS on the HTTP side (issue 9): the same app over TLS with a self-signed certificate, HSTS over HTTPS
// only, security headers everywhere, MQTT over wss://, and certificate reload without dropping connections.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { connectAsync } from 'mqtt';
import { startHarness, type Harness } from './harness';
import { httpsGet, makeCertificate, type TestCertificate } from './tls-certs';

const dir = mkdtempSync(join(tmpdir(), 'thingstead-https-'));
const first = makeCertificate(dir, 'first');
const second = makeCertificate(dir, 'second');
// The files the server is configured with; the tests overwrite them, as a renewal (certbot, caddy) would.
const certFile = join(dir, 'server.crt');
const keyFile = join(dir, 'server.key');
const mqttsCertFile = join(dir, 'mqtts.crt');
const mqttsKeyFile = join(dir, 'mqtts.key');
const install = (c: TestCertificate, cert: string, key: string) => {
  copyFileSync(c.certFile, cert);
  copyFileSync(c.keyFile, key);
};
const ca = [first.cert, second.cert];

/** The certificate a new TLS connection to port is shown. */
function presented(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.on('error', reject);
  });
}

describe('HTTPS', () => {
  let h: Harness;
  let https: string;
  before(async () => {
    install(first, certFile, keyFile);
    install(first, mqttsCertFile, mqttsKeyFile);
    h = await startHarness({
      THINGSTEAD_HTTPS_PORT: '0',
      THINGSTEAD_HTTPS_CERT_FILE: certFile,
      THINGSTEAD_HTTPS_KEY_FILE: keyFile,
      THINGSTEAD_MQTTS_PORT: '0',
      THINGSTEAD_MQTTS_CERT_FILE: mqttsCertFile,
      THINGSTEAD_MQTTS_KEY_FILE: mqttsKeyFile,
    });
    https = `https://127.0.0.1:${h.app.httpsPort!}`;
  });
  after(async () => {
    await h.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the REST API answers over HTTPS, verified against the self-signed certificate', async () => {
    assert.equal(h.app.urls.https, https);
    const r = await httpsGet(`${https}/healthz`, { ca });
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).status, 'ok');
    assert.equal(r.fingerprint256, first.fingerprint256);
    // Readiness counts the HTTPS listener among its checks.
    const ready = JSON.parse((await httpsGet(`${https}/readyz`, { ca })).body) as { checks: Record<string, string> };
    assert.equal(ready.checks.https, 'ok');
    assert.equal(ready.checks.http, 'ok');
    // An authenticated route too: the same app, not only a health check.
    const token = await h.login();
    const devices = await new Promise<number>((resolve, reject) => {
      const req = request(`${https}/api/devices`, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(devices, 200);
  });

  test('HSTS is sent over HTTPS only; the security headers over both', async () => {
    const overTls = await httpsGet(`${https}/healthz`, { ca });
    assert.equal(overTls.headers['strict-transport-security'], 'max-age=31536000');
    const plain = await h.call('GET', '/healthz');
    assert.equal(plain.headers.get('strict-transport-security'), null);
    // An error answer (404) has them too: the headers are set before routing.
    const missing = await h.call('GET', '/no-such-route');
    assert.equal(missing.status, 404);
    for (const headers of [new Headers(overTls.headers as Record<string, string>), plain.headers, missing.headers]) {
      assert.equal(headers.get('x-content-type-options'), 'nosniff');
      assert.equal(headers.get('x-frame-options'), 'DENY');
      assert.equal(headers.get('referrer-policy'), 'no-referrer');
      const csp = headers.get('content-security-policy') ?? '';
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /script-src 'self'(;|$)/);
      assert.doesNotMatch(csp, /upgrade-insecure-requests/);
    }
  });

  test('the swagger UI page loads under its CSP: no inline script, every script and style same-origin and served', async () => {
    const page = await httpsGet(`${https}/api/docs/`, { ca });
    assert.equal(page.status, 200);
    assert.match(String(page.headers['content-security-policy']), /script-src 'self'/);
    const scripts = [...page.body.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.ok(scripts.length >= 2, page.body);
    const refs: string[] = [];
    for (const [, attrs, inline] of scripts) {
      // script-src 'self' without 'unsafe-inline' blocks an inline script.
      assert.equal(inline?.trim(), '', `inline script in the docs page: ${inline ?? ''}`);
      const src = /src="([^"]+)"/.exec(attrs ?? '')?.[1];
      assert.ok(src, `a script without src: ${attrs ?? ''}`);
      refs.push(src);
    }
    for (const [, href] of page.body.matchAll(/<link rel="stylesheet"[^>]*href="([^"]+)"/g)) refs.push(href ?? '');
    const base = new URL(`${https}/api/docs/`);
    for (const ref of refs) {
      const url = new URL(ref, base);
      assert.equal(url.origin, base.origin, `${ref} is not same-origin`);
      const r = await httpsGet(url.href, { ca });
      assert.equal(r.status, 200, url.href);
    }
  });

  test('a device connects and publishes over wss:// (MQTT over WebSocket on the HTTPS port)', async () => {
    const token = await h.login();
    const device = await h.createDevice(token, 'wss-dev');
    const c = await connectAsync(`wss://127.0.0.1:${h.app.httpsPort!}/mqtt`, {
      protocolVersion: 5,
      username: device.accessToken,
      clientId: 'wss-1',
      ca,
      reconnectPeriod: 0,
    });
    await c.publishAsync('v1/devices/me/telemetry', '{"overWss":1}', { qos: 1 });
    await c.endAsync();
    const latest = await h.call('GET', `/api/devices/${device.id}/telemetry/latest`, { token });
    assert.equal(latest.body.data.overWss.value, 1);
  });

  test('reload: new connections get the new certificate, open ones stay; a bad new one keeps the old', async () => {
    const token = await h.login();
    const device = await h.createDevice(token, 'reload-dev');
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    const before = await httpsGet(`${https}/healthz`, { ca, agent });
    assert.equal(before.fingerprint256, first.fingerprint256);
    const mqttClient = await connectAsync(`wss://127.0.0.1:${h.app.httpsPort!}/mqtt`, {
      protocolVersion: 5,
      username: device.accessToken,
      clientId: 'wss-reload',
      ca,
      reconnectPeriod: 0,
    });
    const mqttsPort = h.app.mqttPorts!.tls!;
    assert.equal(await presented(mqttsPort), first.fingerprint256);

    install(second, certFile, keyFile);
    install(second, mqttsCertFile, mqttsKeyFile);
    const results = h.app.reloadCertificates();
    assert.deepEqual(
      results.map((r) => [r.listener, r.ok, r.fingerprint256]),
      [
        ['https', true, second.fingerprint256],
        ['mqtts', true, second.fingerprint256],
      ],
    );
    // New handshakes: the new certificate, on both TLS listeners.
    assert.equal((await httpsGet(`${https}/healthz`, { ca })).fingerprint256, second.fingerprint256);
    assert.equal(await presented(mqttsPort), second.fingerprint256);
    // The keep-alive connection opened before is reused as it was, and the WSS client still works.
    const reused = await httpsGet(`${https}/healthz`, { ca, agent });
    assert.equal(reused.socket, before.socket);
    assert.equal(reused.status, 200);
    assert.equal(reused.fingerprint256, first.fingerprint256);
    assert.ok(mqttClient.connected);
    await mqttClient.publishAsync('v1/devices/me/telemetry', '{"afterReload":1}', { qos: 1 });
    await mqttClient.endAsync();
    agent.destroy();

    // A broken certificate file, then a key that is not the certificate's: each is refused, the last good one stays.
    writeFileSync(certFile, 'not a certificate\n');
    const broken = h.app.reloadCertificates().find((r) => r.listener === 'https');
    assert.ok(broken);
    assert.equal(broken.ok, false);
    assert.match(broken.error ?? '', /https\.certFile \(THINGSTEAD_HTTPS_CERT_FILE\)/);
    assert.equal(broken.fingerprint256, second.fingerprint256);
    copyFileSync(first.certFile, certFile);
    const mismatched = h.app.reloadCertificates().find((r) => r.listener === 'https');
    assert.ok(mismatched);
    assert.equal(mismatched.ok, false);
    assert.match(mismatched.error ?? '', /https\.keyFile \(THINGSTEAD_HTTPS_KEY_FILE\)/);
    const still = await httpsGet(`${https}/healthz`, { ca });
    assert.equal(still.status, 200);
    assert.equal(still.fingerprint256, second.fingerprint256);
  });
});

test('a certificate file that holds no certificate stops the start with an error naming the setting', async () => {
  const d = mkdtempSync(join(tmpdir(), 'thingstead-badcert-'));
  try {
    const good = makeCertificate(d, 'good');
    const bad = join(d, 'bad.crt');
    writeFileSync(bad, 'garbage\n');
    await assert.rejects(
      startHarness({ THINGSTEAD_HTTPS_PORT: '0', THINGSTEAD_HTTPS_CERT_FILE: bad, THINGSTEAD_HTTPS_KEY_FILE: good.keyFile }),
      (e: Error) =>
        e.constructor.name === 'StartupError' && /https\.certFile \(THINGSTEAD_HTTPS_CERT_FILE\): .*bad\.crt holds no PEM certificate/.test(e.message),
    );
  } finally {
    rmSync(d, { recursive: true, force: true });
  }
});
