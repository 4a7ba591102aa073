import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkPassword, cleanEmail, cleanName, loneSurrogate, wellFormed } from './validate';

test('loneSurrogate matches only unpaired surrogates, not a pair such as an emoji', () => {
  assert.ok(loneSurrogate.test('a\ud800'));
  assert.ok(loneSurrogate.test('\udc00b'));
  assert.ok(loneSurrogate.test('\udc00\ud800'), 'a low before a high surrogate is no pair');
  assert.ok(!loneSurrogate.test('sensor 🌡️'));
  assert.ok(!loneSurrogate.test('plain'));
});

test('names with a lone surrogate are refused; emoji names are fine', () => {
  assert.throws(() => cleanName('pump\ud800'), /name must be valid Unicode/);
  assert.equal(cleanName(' pump 🌊 '), 'pump 🌊');
  assert.throws(() => wellFormed('x\udfff', 'label'), /label must be valid Unicode/);
});

test('emails with NUL, other control characters or a lone surrogate are refused', () => {
  for (const bad of ['a\u0000b@x.y', 'a@x.y\u0000', 'a\u0007@x.y', 'a\u007f@x.y', 'a\ud800@x.y']) {
    assert.throws(() => cleanEmail(bad), /email must be an email address/, JSON.stringify(bad));
  }
  assert.equal(cleanEmail(' Ann@Example.COM '), 'ann@example.com');
});

test('a password with a lone surrogate is refused (its UTF-8 form would equal other passwords)', () => {
  assert.throws(() => checkPassword('password\ud800'), /password must be valid Unicode/);
  assert.equal(checkPassword('pässwörd-🔑'), 'pässwörd-🔑');
});
