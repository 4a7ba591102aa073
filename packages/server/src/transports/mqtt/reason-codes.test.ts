import { ReasonCode } from '@thingstead/broker';
import { errorCatalogue, ThingsteadError, type ErrorName } from '@thingstead/core';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mqttReasonFor } from './reason-codes';

test('a refused PUBLISH gets the v5 reason code of its error kind (v5 §3.4.2.1), with the error message as reason string', () => {
  assert.deepEqual(mqttReasonFor(new ThingsteadError('TELEMETRY_INVALID', 'values must be an object')), {
    reasonCode: 0x99,
    reasonString: 'values must be an object',
  });
  assert.deepEqual(mqttReasonFor(new ThingsteadError('UNAVAILABLE', 'The ingest queue is full; retry shortly.')), {
    reasonCode: 0x97,
    reasonString: 'The ingest queue is full; retry shortly.',
  });
  assert.deepEqual(mqttReasonFor(new ThingsteadError('TELEMETRY_KEY_LIMIT')), { reasonCode: 0x97, reasonString: errorCatalogue.TELEMETRY_KEY_LIMIT.message });
  assert.equal(mqttReasonFor(new ThingsteadError('ATTRIBUTES_INVALID'))?.reasonCode, 0x99);
  assert.equal(mqttReasonFor(new ThingsteadError('RPC_INVALID'))?.reasonCode, 0x99);
  assert.equal(mqttReasonFor(new ThingsteadError('ATTRIBUTE_LIMIT'))?.reasonCode, 0x97);
  assert.equal(mqttReasonFor(new ThingsteadError('GATEWAY_INVALID'))?.reasonCode, 0x99);
  assert.equal(mqttReasonFor(new ThingsteadError('GATEWAY_CHILD_REFUSED'))?.reasonCode, ReasonCode.NotAuthorized);
  assert.equal(mqttReasonFor(new ThingsteadError('GATEWAY_LIMIT'))?.reasonCode, 0x97);
  assert.equal(ReasonCode.PayloadFormatInvalid, 0x99);
  assert.equal(ReasonCode.QuotaExceeded, 0x97);
});

test('every other error is rethrown (undefined): the connection closes without an acknowledgement', () => {
  const refused = new Set<ErrorName>([
    'TELEMETRY_INVALID',
    'UNAVAILABLE',
    'TELEMETRY_KEY_LIMIT',
    'ATTRIBUTES_INVALID',
    'ATTRIBUTE_LIMIT',
    'RPC_INVALID',
    'GATEWAY_INVALID',
    'GATEWAY_CHILD_REFUSED',
    'GATEWAY_LIMIT',
  ]);
  for (const kind of Object.keys(errorCatalogue) as ErrorName[]) {
    if (!refused.has(kind)) assert.equal(mqttReasonFor(new ThingsteadError(kind)), undefined, kind);
  }
  assert.equal(mqttReasonFor(new Error('disk I/O error')), undefined);
  assert.equal(mqttReasonFor('thrown string'), undefined);
});
