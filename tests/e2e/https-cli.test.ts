// SIGHUP through the real `thingstead start` process: the certificates are re-read, the process keeps running
// (Node's default for SIGHUP would end it), open connections stay, and a bad certificate is logged and not used.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startCli, waitFor } from './cli-process';
import { httpsGet, makeCertificate } from './tls-certs';

const dir = mkdtempSync(join(tmpdir(), 'thingstead-https-cli-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('thingstead start reloads the HTTPS certificate on SIGHUP and keeps serving', async () => {
  const first = makeCertificate(dir, 'first');
  const second = makeCertificate(dir, 'second');
  const ca = [first.cert, second.cert];
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  copyFileSync(first.certFile, certFile);
  copyFileSync(first.keyFile, keyFile);
  const p = startCli({
    THINGSTEAD_DATA_DIR: join(dir, 'data'),
    THINGSTEAD_HOST: '127.0.0.1',
    THINGSTEAD_HTTP_PORT: '0',
    THINGSTEAD_MQTT_PORT: '0',
    THINGSTEAD_HTTPS_PORT: '0',
    THINGSTEAD_HTTPS_CERT_FILE: certFile,
    THINGSTEAD_HTTPS_KEY_FILE: keyFile,
  });
  try {
    const line = await waitFor(() => p.lines.find((l) => typeof l.httpsPort === 'number'), `the listening line (stderr: ${p.stderr()})`);
    const url = `https://127.0.0.1:${String(line.httpsPort)}/healthz`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca });
    const before = await httpsGet(url, { ca, agent });
    assert.equal(before.fingerprint256, first.fingerprint256);

    copyFileSync(second.certFile, certFile);
    copyFileSync(second.keyFile, keyFile);
    p.child.kill('SIGHUP');
    await waitFor(() => p.lines.find((l) => l.msg === 'https: certificate reloaded'), `the reload line (stderr: ${p.stderr()})`);
    assert.equal((await httpsGet(url, { ca })).fingerprint256, second.fingerprint256);
    const reused = await httpsGet(url, { ca, agent });
    assert.equal(reused.socket, before.socket, 'the connection opened before the reload is still open');
    assert.equal(reused.status, 200);
    agent.destroy();

    writeFileSync(certFile, 'garbage\n');
    p.child.kill('SIGHUP');
    const error = await waitFor(() => p.lines.find((l) => l.level === 50 && l.listener === 'https'), 'the reload error line');
    assert.match(String(error.msg), /old one is still served.*https\.certFile \(THINGSTEAD_HTTPS_CERT_FILE\)/);
    assert.equal((await httpsGet(url, { ca })).fingerprint256, second.fingerprint256);
  } finally {
    p.child.kill('SIGTERM');
  }
  assert.equal(await p.exit, 0);
});
