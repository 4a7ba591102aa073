// The web console in a real browser (Debian's chromium through playwright-core) against a real Thingstead on free
// ports: sign in (a wrong password is refused with the server's message), create a device and read its token
// with ready-to-paste lines, watch a value sent over MQTT (mqtt.js) appear and change on the device page and its
// chart without a reload, set and delete a shared attribute the device receives, see what it reports, sign out. No errors in the browser console. Screenshots go to .tmp/screenshots/.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import mqtt from 'mqtt';
import { chromium, type Browser, type Page } from 'playwright-core';
import { adminEmail, adminPassword, startHarness, type Harness } from './harness';

const shots = join(import.meta.dirname, '..', '..', '.tmp', 'screenshots');

describe('web console in a real browser', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const browserErrors: string[] = [];

  before(async () => {
    mkdirSync(shots, { recursive: true });
    h = await startHarness();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error') browserErrors.push(m.text());
    });
    page.on('pageerror', (e) => browserErrors.push(e.message));
  });

  after(async () => {
    await browser.close();
    await h.stop();
  });

  test('the server serves the console at /: the page revalidated on each load, hashed assets cached, under the CSP', async () => {
    const res = await fetch(`${h.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    const html = await res.text();
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(asset, `the page loads a hashed script: ${html}`);
    const js = await fetch(h.url + asset);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
  });

  test('sign in: a wrong password shows the server message, the right one opens the devices, with their empty state', async () => {
    await page.goto(h.url);
    await page.getByLabel('Email').fill(adminEmail);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? '', /password|credentials/i);
    await page.screenshot({ path: join(shots, 'sign-in.png') });
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Devices', exact: true }).waitFor();
    await page.getByText('No devices yet').waitFor();
    await page.screenshot({ path: join(shots, 'devices-empty.png') });
  });

  test('create a device: its token and the mosquitto_pub / curl / Python lines are shown, and it is listed', async () => {
    await page.getByLabel('New device name').fill('greenhouse-1');
    await page.getByRole('button', { name: 'Create device' }).click();
    const shown = (await page.getByTestId('device-token').textContent()) ?? '';
    const token = await h.login();
    const list = await h.call('GET', '/api/devices?search=greenhouse-1', { token });
    const id = list.body.items[0]?.id as string;
    const credentials = await h.call('GET', `/api/devices/${id}/credentials`, { token });
    assert.equal(shown, credentials.body.accessToken, 'the token shown is the device credential');
    const examples = (await page.locator('.examples pre').allTextContents()).join('\n');
    assert.ok(examples.includes(`mosquitto_pub -h 127.0.0.1 -p 1883 -u '${shown}'`), examples);
    assert.ok(examples.includes(`${h.url}/api/v1/${shown}/telemetry`), examples);
    assert.ok(examples.includes(`username_pw_set('${shown}')`), examples);
    await page.getByRole('link', { name: 'greenhouse-1' }).waitFor();
    await page.screenshot({ path: join(shots, 'device-created.png') });
  });

  test('the device page shows a value sent over MQTT, and its change, without a reload', async () => {
    const token = await h.login();
    const list = await h.call('GET', '/api/devices?search=greenhouse-1', { token });
    const id = list.body.items[0]?.id as string;
    const accessToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken as string;
    await page.getByRole('link', { name: 'greenhouse-1' }).click();
    await page.getByRole('heading', { name: 'greenhouse-1' }).waitFor();
    await page.getByText('No telemetry yet').waitFor();
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`, {
      username: accessToken,
      clientId: 'console-e2e',
      reconnectPeriod: 0,
    });
    try {
      await client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ temperature: 21.5, pump: false }), { qos: 1 });
      const value = page.getByTestId('value-temperature');
      await value.waitFor();
      assert.equal(await value.textContent(), '21.5');
      const url = page.url();
      await client.publishAsync('v1/devices/me/telemetry', JSON.stringify({ temperature: 22.75 }), { qos: 1 });
      await page.locator('[data-testid="value-temperature"]', { hasText: /^22\.75$/ }).waitFor({ timeout: 10_000 });
      assert.equal(page.url(), url, 'no navigation');
      assert.equal(await page.getByTestId('value-pump').textContent(), 'false');
      // The chart of the numeric keys: the stored value and the live one, two instants.
      await page.locator('[data-testid="chart"][data-points="2"]').waitFor({ timeout: 10_000 });
      assert.equal(await page.locator('.plot canvas').count(), 1, 'uPlot drew on a canvas');
      await page.getByText('Online').first().waitFor();
      await page.screenshot({ path: join(shots, 'device-live.png') });
    } finally {
      await client.endAsync();
    }
  });

  test('attributes: a shared value set on the page reaches the device over MQTT; what the device reports appears live', async () => {
    const token = await h.login();
    const list = await h.call('GET', '/api/devices?search=greenhouse-1', { token });
    const id = list.body.items[0]?.id as string;
    const accessToken = (await h.call('GET', `/api/devices/${id}/credentials`, { token })).body.accessToken as string;
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.app.mqttPorts?.tcp ?? 0}`, {
      username: accessToken,
      clientId: 'console-e2e-attrs',
      reconnectPeriod: 0,
    });
    try {
      const pushed: unknown[] = [];
      client.on('message', (topic, payload) => {
        if (topic === 'v1/devices/me/attributes') pushed.push(JSON.parse(payload.toString()));
      });
      await client.subscribeAsync('v1/devices/me/attributes', { qos: 1 });
      await page.getByLabel('New shared attribute key').fill('target');
      await page.getByLabel('New shared attribute value').fill('23.5');
      await page.getByRole('region', { name: 'Shared attributes' }).getByRole('button', { name: 'Set' }).click();
      await page.getByTestId('attr-shared-target').waitFor();
      assert.equal(await page.getByTestId('attr-shared-target').textContent(), '23.5');
      for (let i = 0; i < 100 && pushed.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(pushed, [{ target: 23.5 }], 'the device got the shared attribute as a number');
      await client.publishAsync('v1/devices/me/attributes', JSON.stringify({ firmware: '1.4.2' }), { qos: 1 });
      await page.locator('[data-testid="attr-client-firmware"]', { hasText: '1.4.2' }).waitFor({ timeout: 10_000 });
      const stored = await h.call('GET', `/api/devices/${id}/attributes`, { token });
      assert.equal(stored.body.shared.target.value, 23.5);
      assert.equal(stored.body.client.firmware.value, '1.4.2');
      await page.getByRole('button', { name: 'Delete shared attribute target' }).click();
      await page.getByTestId('attr-shared-target').waitFor({ state: 'detached' });
      assert.equal((await h.call('GET', `/api/devices/${id}/attributes`, { token })).body.shared?.target, undefined, 'deleted on the server');
      await page.screenshot({ path: join(shots, 'device-attributes.png'), fullPage: true });
    } finally {
      await client.endAsync();
    }
  });

  test('a reload keeps the session; sign out returns to the sign-in form; the browser console stayed clean', async () => {
    await page.reload();
    await page.getByRole('heading', { name: 'greenhouse-1' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Thingstead' }).waitFor();
    // The refused login answers 401, which the browser logs as a failed resource: that one is expected.
    const unexpected = browserErrors.filter((e) => !/401 \(Unauthorized\)/.test(e));
    assert.deepEqual(unexpected, [], 'no errors in the browser console');
  });
});
