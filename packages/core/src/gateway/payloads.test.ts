import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rejectsWith } from '../testing/store-contract';
import { parseAttributeRequest, parseConnect, parseDisconnect, parsePerDevice, parseRpcResponse } from './payloads';

const invalid = (fn: () => unknown) => {
  assert.throws(fn, rejectsWith('GATEWAY_INVALID'));
};
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

test('connect and disconnect: {"device","type"} as ThingsBoard gateways send them; type is optional', () => {
  assert.deepEqual(parseConnect(bytes({ device: 'Device A', type: 'thermostat' })), { device: 'Device A', type: 'thermostat' });
  assert.deepEqual(parseConnect(bytes({ device: 'Device A' })), { device: 'Device A', type: undefined });
  assert.deepEqual(parseConnect({ device: 'Device A', type: null }), { device: 'Device A', type: undefined });
  assert.deepEqual(parseDisconnect(bytes({ device: 'Device A' })), { device: 'Device A' });
  for (const bad of [
    {},
    { device: '' },
    { device: '   ' },
    { device: 7 },
    { device: 'x'.repeat(256) },
    { device: 'a', type: 3 },
    { device: 'a', type: '' },
    [],
    'text',
    null,
  ]) {
    invalid(() => parseConnect(bad));
  }
  invalid(() => parseConnect(Buffer.from('{"device":')));
  invalid(() => parseDisconnect(bytes({ name: 'Device A' })));
});

test('telemetry: one entry per device in message order, each any device telemetry form', () => {
  const msg = {
    'Device A': [
      { ts: 1483228800000, values: { temperature: 42 } },
      { ts: 1483228801000, values: { temperature: 43 } },
    ],
    'Device B': { humidity: 50 },
    'Device C': [{ values: { on: true } }],
  };
  assert.deepEqual(parsePerDevice(bytes(msg), { what: 'telemetry', maxDevices: 10 }), [
    { device: 'Device A', payload: msg['Device A'] },
    { device: 'Device B', payload: msg['Device B'] },
    { device: 'Device C', payload: [{ on: true }] },
  ]);
  assert.deepEqual(parsePerDevice(bytes({ d: { values: { a: 1 } } }), { what: 'telemetry', maxDevices: 10 }), [{ device: 'd', payload: { a: 1 } }]);
  assert.deepEqual(parsePerDevice(bytes({ d: { values: { a: 1 }, ts: 5 } }), { what: 'telemetry', maxDevices: 10 }), [
    { device: 'd', payload: { values: { a: 1 }, ts: 5 } },
  ]);
  assert.deepEqual(parsePerDevice(bytes({}), { what: 'telemetry', maxDevices: 10 }), []);
  invalid(() => parsePerDevice(bytes({ 'Device A': 42 }), { what: 'telemetry', maxDevices: 10 }));
  invalid(() => parsePerDevice(bytes({ 'Device A': null }), { what: 'telemetry', maxDevices: 10 }));
  invalid(() => parsePerDevice(bytes({ '': [] }), { what: 'telemetry', maxDevices: 10 }));
  invalid(() => parsePerDevice(bytes([{ ts: 1, values: {} }]), { what: 'telemetry', maxDevices: 10 }));
  invalid(() => parsePerDevice(bytes({ a: [], b: [], c: [] }), { what: 'telemetry', maxDevices: 2 }));
});

test('attributes: {"Device A":{"k":v}}; an entry that is no object is refused', () => {
  assert.deepEqual(parsePerDevice(bytes({ 'Device A': { fw: '1.0' } }), { what: 'attributes', maxDevices: 10 }), [
    { device: 'Device A', payload: { fw: '1.0' } },
  ]);
  invalid(() => parsePerDevice(bytes({ 'Device A': [{ fw: '1.0' }] }), { what: 'attributes', maxDevices: 10 }));
  invalid(() => parsePerDevice(bytes({ 'Device A': 'x' }), { what: 'attributes', maxDevices: 10 }));
});

test('attribute requests: client true/false picks the scope; key, keys or neither', () => {
  assert.deepEqual(parseAttributeRequest(bytes({ id: 1, device: 'Device A', client: true, key: 'attribute1' })), {
    id: 1,
    device: 'Device A',
    scope: 'client',
    key: 'attribute1',
  });
  assert.deepEqual(parseAttributeRequest(bytes({ id: 2, device: 'Device A', client: false, keys: ['a', 'b'] })), {
    id: 2,
    device: 'Device A',
    scope: 'shared',
    keys: ['a', 'b'],
  });
  assert.deepEqual(parseAttributeRequest(bytes({ id: 'r-3', device: 'Device A', client: false })), { id: 'r-3', device: 'Device A', scope: 'shared' });
  for (const bad of [
    { device: 'Device A', client: true, key: 'a' },
    { id: 1.5, device: 'Device A', client: true },
    { id: 1, client: true },
    { id: 1, device: 'Device A', key: 'a' },
    { id: 1, device: 'Device A', client: 'yes' },
    { id: 1, device: 'Device A', client: true, key: 3 },
    { id: 1, device: 'Device A', client: true, keys: 'a,b' },
    { id: 1, device: 'Device A', client: true, keys: ['a', 2] },
  ]) {
    invalid(() => parseAttributeRequest(bytes(bad)));
  }
});

test('RPC answers: {"device","id","data"}; data may be any JSON, but must be there', () => {
  assert.deepEqual(parseRpcResponse(bytes({ device: 'Device A', id: 1, data: { success: true } })), { device: 'Device A', id: '1', data: { success: true } });
  assert.deepEqual(parseRpcResponse(bytes({ device: 'Device A', id: '7', data: null })), { device: 'Device A', id: '7', data: null });
  invalid(() => parseRpcResponse(bytes({ device: 'Device A', id: 1 })));
  invalid(() => parseRpcResponse(bytes({ device: 'Device A', data: {} })));
  invalid(() => parseRpcResponse(bytes({ id: 1, data: {} })));
});
