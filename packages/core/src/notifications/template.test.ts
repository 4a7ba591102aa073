import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderTemplate } from './template';

test('placeholders are filled from the context by dotted path, array indices included; spaces inside the braces are allowed', () => {
  const context = { device: { name: 'Boiler 1', tags: ['hall', 'b2'] }, value: 95.5, high: true, count: 0 };
  assert.equal(
    renderTemplate('{{device.name}} is at {{ value }} °C (high: {{high}}, {{count}} before) in {{device.tags.0}}', context),
    'Boiler 1 is at 95.5 °C (high: true, 0 before) in hall',
  );
});

test('a missing value, null and undefined render as empty text; objects and arrays as their JSON', () => {
  const context = { a: null, b: undefined, o: { x: 1, y: [true, 'z'] }, list: [1, 2] };
  assert.equal(renderTemplate('[{{a}}][{{b}}][{{nope}}][{{o.x.deeper}}]', context), '[][][][]');
  assert.equal(renderTemplate('{{o}} {{list}}', context), '{"x":1,"y":[true,"z"]} [1,2]');
});

test('prototype keys never reach a prototype: __proto__, constructor and prototype render empty, also on plain objects', () => {
  const context = { o: {}, s: 'text', f: { prototype: 'own' } };
  for (const t of [
    '{{__proto__}}',
    '{{constructor}}',
    '{{o.constructor}}',
    '{{constructor.constructor}}',
    '{{s.length}}',
    '{{o.__proto__.x}}',
    '{{f.prototype}}',
  ])
    assert.equal(renderTemplate(t, context), '', t);
  // An own property named like a prototype key is data, but still not looked up (nothing differs by object kind).
  assert.equal(renderTemplate('{{a}}', JSON.parse('{"a":"x","__proto__":{"a":"polluted"}}')), 'x');
  assert.equal(({} as Record<string, unknown>).a, undefined, 'nothing was polluted');
});

test('nothing is evaluated: what is no dotted path stays as written', () => {
  assert.equal(renderTemplate('{{ 1 + 1 }} {{a()}} {{a.b c}} {{}} {a}', { a: 'A' }), '{{ 1 + 1 }} {{a()}} {{a.b c}} {{}} {a}');
  assert.equal(renderTemplate('{{a}}', { a: '{{b}}', b: 'not again' }), '{{b}}', 'a value is not rendered again');
});

test('a value that JSON cannot show (a cycle) renders empty, functions too', () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.equal(renderTemplate('[{{c}}][{{f}}]', { c: cyclic, f: () => 'x' }), '[][]');
});
