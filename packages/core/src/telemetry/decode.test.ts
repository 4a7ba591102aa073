import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThingsteadError } from '../errors';
import { decodeTelemetry, parseJsonPayload } from './decode';

const limits = { maxKeyLength: 10, maxValueBytes: 32, maxPointsPerMessage: 5, maxFutureSkewMs: 1000 };
const now = 1_700_000_000_000;
const decode = (p: unknown) => decodeTelemetry(p, now, limits);
const problem = (p: unknown): string => {
  try {
    decode(p);
  } catch (e) {
    assert.ok(e instanceof ThingsteadError);
    assert.equal(e.code, 'THINGSTEAD_ERR_TELEMETRY_INVALID');
    return e.message;
  }
  return assert.fail('expected an error');
};

test('the three ThingsBoard forms', () => {
  assert.deepEqual(decode({ a: 1, b: 'x' }), [
    { key: 'a', ts: now, value: 1 },
    { key: 'b', ts: now, value: 'x' },
  ]);
  assert.deepEqual(decode({ ts: now - 5, values: { a: true } }), [{ key: 'a', ts: now - 5, value: true }]);
  assert.deepEqual(decode([{ ts: now - 1, values: { a: { j: [1] } } }, { c: 2 }]), [
    { key: 'a', ts: now - 1, value: { j: [1] } },
    { key: 'c', ts: now, value: 2 },
  ]);
  assert.deepEqual(decode({}), []);
  assert.deepEqual(decode({ ts: 5 }), [{ key: 'ts', ts: now, value: 5 }], 'ts without values is an ordinary key');
});

test('each problem is named with its path', () => {
  assert.match(problem('text'), /^\$: expected a JSON object/);
  assert.match(problem([{ a: 1 }, [1]]), /^\$\[1\]: expected/);
  assert.match(problem({ ts: now, values: { a: 1 }, extra: 1 }), /unexpected field "extra"/);
  assert.match(problem({ ts: '1', values: {} }), /\$\.ts: ts must be an integer/);
  assert.match(problem({ ts: 1.5, values: {} }), /integer/);
  assert.match(problem({ ts: 1_700_000_000, values: {} }), /looks like seconds/);
  assert.match(problem({ ts: now + 1001, values: {} }), /in the future/);
  assert.match(problem({ ts: now, values: [] }), /values must be a JSON object/);
  assert.match(problem({ '': 1 }), /keys must not be empty/);
  assert.match(problem({ abcdefghijk: 1 }), /longer than 10/);
  assert.match(problem({ 'a\nb': 1 }), /control characters/);
  assert.match(problem({ a: null }), /\$\.a: value must not be null/);
  assert.match(problem({ a: 'x'.repeat(33) }), /longer than 32 bytes/);
  assert.match(problem({ a: { big: 'x'.repeat(40) } }), /larger than 32 bytes/);
  assert.match(problem({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }), /more than 5 values/);
});

test('non-finite numbers ({"big":1e400}) are refused instead of being stored as null', () => {
  assert.match(problem(JSON.parse('{"big":1e400}')), /^\$\.big: number is out of range/);
  assert.match(problem(JSON.parse('{"ts":1700000000000,"values":{"n":-1e400}}')), /\$\.values\.n: number is out of range/);
  assert.match(problem({ j: { deep: [Infinity] } }), /^\$\.j: a number is out of range/);
  assert.match(problem({ nan: NaN }), /out of range/);
});

test('a JSON value nested deeper than the JSON limit is refused before it is serialised', () => {
  const deep = JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)) as unknown;
  assert.match(problem({ v: deep }), /^\$\.v: JSON is nested deeper than 32 levels/);
});

test('parseJsonPayload refuses MQTT payloads nested 5,000 deep or holding 1e400', () => {
  const deep = '{"v":' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + '}';
  assert.ok(Buffer.byteLength(deep) < 64 * 1024);
  assert.throws(() => parseJsonPayload(Buffer.from(deep)), /payload: JSON is nested deeper than 32 levels/);
  assert.throws(() => parseJsonPayload('{"big":1e400}'), /payload: a number is out of range/);
});

test('lone surrogates in keys and string values are refused; inside JSON values they are kept escaped', () => {
  assert.match(problem(JSON.parse('{"a\\ud800":1}')), /keys must be valid Unicode/);
  assert.match(problem(JSON.parse('{"s":"x\\udc00"}')), /^\$\.s: string value must be valid Unicode/);
  assert.deepEqual(decode({ 'temp🌡': 'ok 🌊' }), [{ key: 'temp🌡', ts: now, value: 'ok 🌊' }]);
  assert.deepEqual(decode({ j: { s: '\ud800' } }), [{ key: 'j', ts: now, value: { s: '\ud800' } }]);
});

test('parseJsonPayload names invalid JSON', () => {
  assert.deepEqual(parseJsonPayload(Buffer.from('{"a":1}')), { a: 1 });
  assert.throws(() => parseJsonPayload(Buffer.from('{"a":')), /payload is not valid JSON/);
});
