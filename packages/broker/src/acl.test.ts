import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { filterCovers, parseAcl } from './acl';

const acl = parseAcl(`
# anonymous clients
topic read public/#

user alice
topic readwrite alice/#
topic write shared/in
topic deny alice/secret

user bob
topic read sensors/+/temp

pattern readwrite devices/%u/#
pattern write clients/%c/status
`);

describe('ACL (Mosquitto acl_file)', () => {
  test('anonymous rules apply to clients without a username', () => {
    assert.equal(acl.canSubscribe(undefined, 'x', 'public/news'), true);
    assert.equal(acl.canPublish(undefined, 'x', 'public/news'), false, 'read only');
    assert.equal(acl.canSubscribe('alice', 'x', 'public/news'), false, 'anonymous rules are not for users');
  });

  test('user rules: read, write, readwrite, and deny overrides a grant', () => {
    assert.equal(acl.canPublish('alice', 'c', 'alice/x'), true);
    assert.equal(acl.canSubscribe('alice', 'c', 'alice/#'), true);
    assert.equal(acl.canPublish('alice', 'c', 'shared/in'), true);
    assert.equal(acl.canSubscribe('alice', 'c', 'shared/in'), false);
    assert.equal(acl.canPublish('alice', 'c', 'alice/secret'), false);
    assert.equal(acl.canPublish('bob', 'c', 'alice/x'), false);
  });

  test('a subscription may not be wider than the rule: wildcards in the filter must be covered', () => {
    assert.equal(acl.canSubscribe('bob', 'c', 'sensors/1/temp'), true);
    assert.equal(acl.canSubscribe('bob', 'c', 'sensors/+/temp'), true);
    assert.equal(acl.canSubscribe('bob', 'c', 'sensors/#'), false);
    assert.equal(acl.canSubscribe('bob', 'c', '#'), false);
    assert.equal(acl.canSubscribe('bob', 'c', '$share/g/sensors/+/temp'), true, 'the $share prefix is ignored');
  });

  test('patterns substitute %u and %c', () => {
    assert.equal(acl.canPublish('carol', 'c', 'devices/carol/t'), true);
    assert.equal(acl.canPublish('carol', 'c', 'devices/dave/t'), false);
    assert.equal(acl.canPublish('carol', 'dev-1', 'clients/dev-1/status'), true);
    assert.equal(acl.canPublish(undefined, 'x', 'devices//t'), false, '%u without a username grants nothing');
  });

  test('CVE-2017-7650: "+", "#" or "/" in a username or client id never widen a pattern', () => {
    assert.equal(acl.canSubscribe('#', 'c', 'devices/#/#'), false);
    assert.equal(acl.canSubscribe('+', 'c', 'devices/+/t'), false);
    assert.equal(acl.canPublish('a/b', 'c', 'devices/a/b/t'), false);
    assert.equal(acl.canPublish('u', '+', 'clients/+/status'), false);
    assert.equal(acl.canPublish('u', '#', 'clients/x/status'), false);
  });

  test('[MQTT-4.7.2-1] a wildcard rule at the first level does not cover $ topics', () => {
    const all = parseAcl('user root\ntopic readwrite #\ntopic read +/x');
    assert.equal(all.canSubscribe('root', 'c', '$SYS/#'), false);
    assert.equal(all.canSubscribe('root', 'c', 'a/b'), true);
    assert.equal(all.canPublish('root', 'c', '$SYS/x'), false);
    assert.equal(filterCovers('+/x', '$SYS/x'), false);
  });

  test('syntax errors name the line', () => {
    assert.throws(() => parseAcl('user a\nfoo bar'), /ACL line 2/);
    assert.throws(() => parseAcl('topic'), { code: 'THINGSTEAD_ERR_BROKER_ACL_SYNTAX' });
  });
});
