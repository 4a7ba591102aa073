import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { routerContract } from './router-contract';
import { SubscriptionTrie, type Subscription } from './subscription-trie';
import { parseSharedFilter, topicFilterError, topicMatches, topicNameError } from './topic';

function sub(sessionKey: string, filter: string, shareGroup?: string): Subscription {
  return {
    sessionKey,
    filter,
    topicFilter: filter,
    qos: 0,
    noLocal: false,
    retainAsPublished: false,
    retainHandling: 0,
    subscriptionId: undefined,
    shareGroup,
  };
}

const limits = { maxTopicLength: 64, maxTopicLevels: 4 };

describe('topics and the subscription trie', () => {
  test('[MQTT-4.7.1-1] [MQTT-4.7.1-2] filter validity', () => {
    for (const ok of ['#', 'a/#', '+', '+/+', 'a/+/b', '/', 'a//b']) assert.equal(topicFilterError(ok, limits), undefined, ok);
    for (const bad of ['', 'a#', 'a/#/b', 'a+', 'a/b+/c', '#/a']) assert.notEqual(topicFilterError(bad, limits), undefined, bad);
    assert.notEqual(topicFilterError('a/b/c/d/e', limits), undefined, 'too many levels');
  });

  test('[MQTT-3.3.2-2] [MQTT-4.7.3-1] topic name validity and limits', () => {
    assert.equal(topicNameError('a/b', limits), undefined);
    for (const bad of ['', 'a/+', '#', 'a\u0000b', 'x'.repeat(65), 'a/b/c/d/e']) assert.notEqual(topicNameError(bad, limits), undefined, bad);
  });

  test('[MQTT-4.8.2-1] $share/<group>/<filter> parsing', () => {
    assert.deepEqual(parseSharedFilter('$share/g/a/b'), { group: 'g', filter: 'a/b' });
    assert.equal(parseSharedFilter('a/b'), undefined);
    assert.equal(parseSharedFilter('$share//a'), null);
    assert.equal(parseSharedFilter('$share/g'), null);
    assert.equal(parseSharedFilter('$share/g+/a'), null);
  });

  test('[MQTT-4.7.2-1] the trie and topicMatches agree, including $ topics and parent matches', () => {
    const trie = new SubscriptionTrie();
    const filters = ['#', '+', 'a/#', 'a/+', 'a/b', '+/b', '$SYS/#', '+/+/c', 'a/+/#'];
    filters.forEach((f, i) => trie.add(sub(`c${i}`, f)));
    for (const topic of ['a', 'a/b', 'a/b/c', 'x/b', '$SYS/x', '$SYS', 'a/', '/b']) {
      const fromTrie = trie
        .match(topic)
        .perClient.map((s) => s[0]?.filter)
        .sort();
      const expected = filters.filter((f) => topicMatches(f, topic)).sort();
      assert.deepEqual(fromTrie, expected, topic);
    }
  });

  test('the match cache is invalidated by subscribe and unsubscribe; empty nodes are pruned', () => {
    const trie = new SubscriptionTrie();
    assert.equal(trie.match('a/b').perClient.length, 0);
    trie.add(sub('x', 'a/+'));
    assert.equal(trie.match('a/b').perClient.length, 1);
    assert.equal(trie.remove('x', 'a/+', undefined), true);
    assert.equal(trie.match('a/b').perClient.length, 0);
    assert.equal(trie.size, 0);
    assert.equal(trie.remove('x', 'a/+', undefined), false);
  });

  test('overlapping subscriptions of one client are grouped; shared groups are returned separately', () => {
    const trie = new SubscriptionTrie();
    trie.add(sub('x', 'a/#'));
    trie.add(sub('x', 'a/b'));
    trie.add(sub('y', 'a/b'));
    trie.add(sub('s1', 'a/b', 'g'));
    trie.add(sub('s2', 'a/b', 'g'));
    const m = trie.match('a/b');
    assert.deepEqual(m.perClient.map((l) => [l[0]?.sessionKey, l.length]).sort(), [
      ['x', 2],
      ['y', 1],
    ]);
    assert.equal(m.shared.length, 1);
    assert.deepEqual(
      m.shared[0]?.members.map((s) => s.sessionKey),
      ['s1', 's2'],
    );
  });
});

routerContract('SubscriptionTrie (in-process)', () => new SubscriptionTrie());
