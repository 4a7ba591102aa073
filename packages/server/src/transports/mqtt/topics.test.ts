import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appSubscribeVerdict, devicePublishVerdict, deviceSubscribeVerdict } from './topics';

test('devices publish to their device API topics only (telemetry, attributes, requests and answers); the rest is refused', () => {
  for (const t of [
    'v1/devices/me/telemetry',
    'v1/devices/me/attributes',
    'v1/devices/me/attributes/request/1',
    'v1/devices/me/rpc/request/1',
    'v1/devices/me/rpc/response/7',
  ]) {
    assert.equal(devicePublishVerdict(t).ok, true, t);
  }
  for (const t of [
    'v1/devices/me/rpc/request/+',
    'v1/devices/me/attributes/request/a/b',
    'v1/devices/me/other',
    'v1/gateway/telemetry',
    'tenants/x/devices/y/telemetry',
    '$SYS/broker',
    'anything',
  ]) {
    assert.equal(devicePublishVerdict(t).ok, false, t);
  }
});

test('devices subscribe only to their own API topics; #, +/# and $SYS/# are never granted', () => {
  for (const f of ['v1/devices/me/attributes', 'v1/devices/me/attributes/response/+', 'v1/devices/me/rpc/request/+', 'v1/devices/me/rpc/response/7']) {
    assert.equal(deviceSubscribeVerdict(f).ok, true, f);
  }
  for (const f of [
    '#',
    '+/#',
    '$SYS/#',
    'v1/devices/me/#',
    'v1/devices/+/attributes',
    'v1/devices/me/telemetry',
    'tenants/+/devices/#',
    'v1/devices/me/rpc/request/#',
    '$share/g/v1/devices/me/attributes',
  ]) {
    assert.equal(deviceSubscribeVerdict(f).ok, false, f);
  }
});

test('gateway API topics: published and subscribed by gateways only, and only the ones served', () => {
  const publish = [
    'v1/gateway/connect',
    'v1/gateway/disconnect',
    'v1/gateway/telemetry',
    'v1/gateway/attributes',
    'v1/gateway/attributes/request',
    'v1/gateway/rpc',
  ];
  const subscribe = ['v1/gateway/attributes', 'v1/gateway/attributes/response', 'v1/gateway/rpc'];
  for (const t of publish) {
    assert.equal(devicePublishVerdict(t, true).ok, true, t);
    const refused = devicePublishVerdict(t);
    assert.ok(!refused.ok && refused.reason.includes('only gateway devices'), t);
  }
  for (const f of subscribe) {
    assert.equal(deviceSubscribeVerdict(f, true).ok, true, f);
    assert.equal(deviceSubscribeVerdict(f).ok, false, f);
  }
  for (const t of ['v1/gateway/attributes/response', 'v1/gateway/claim', 'v1/gateway/rpc/1', 'v1/gateway/+', 'v1/gateway']) {
    assert.equal(devicePublishVerdict(t, true).ok, false, t);
  }
  for (const f of ['v1/gateway/#', 'v1/gateway/+', 'v1/gateway/telemetry', 'v1/gateway/connect', '#', '$SYS/#']) {
    assert.equal(deviceSubscribeVerdict(f, true).ok, false, f);
  }
  assert.equal(devicePublishVerdict('v1/devices/me/telemetry', true).ok, true, 'a gateway is a device too');
});

test('applications read their own tenant only, with a literal tenant level', () => {
  assert.equal(appSubscribeVerdict('tenants/t1/devices/+/telemetry', 't1', false).ok, true);
  assert.equal(appSubscribeVerdict('tenants/t1/devices/#', 't1', false).ok, true);
  assert.equal(appSubscribeVerdict('tenants/t1/#', 't1', false).ok, true);
  for (const f of ['tenants/t2/devices/#', 'tenants/+/devices/#', 'tenants/#', '#', '+/#', '$SYS/#', 'v1/devices/me/attributes', 'tenants/t1/users/#']) {
    assert.equal(appSubscribeVerdict(f, 't1', false).ok, false, f);
  }
  assert.equal(appSubscribeVerdict('tenants/t2/devices/#', 't1', true).ok, true, 'a system admin names any tenant');
  assert.equal(appSubscribeVerdict('tenants/+/devices/#', 't1', true).ok, false);
});
