import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Router, Subscription } from './router';
import { topicMatches } from './topic';

function sub(sessionKey: string, topicFilter: string, shareGroup?: string, qos: 0 | 1 | 2 = 0): Subscription {
  const filter = shareGroup === undefined ? topicFilter : `$share/${shareGroup}/${topicFilter}`;
  return { sessionKey, filter, topicFilter, qos, noLocal: false, retainAsPublished: false, retainHandling: 0, subscriptionId: undefined, shareGroup };
}

/**
 * The contract of the Router port (router.ts): every adapter runs it (the in-process trie in
 * subscription-trie.test.ts; a cluster adapter would too, with its local view). A deviation is listed with
 * its reason where the adapter's test calls this.
 */
export function routerContract(name: string, create: () => Router): void {
  describe(`Router contract: ${name}`, () => {
    test('[MQTT-4.7.1-2] [MQTT-4.7.2-1] match agrees with topicMatches for +, #, parent levels and $ topics', () => {
      const router = create();
      const filters = ['#', '+', 'a/#', 'a/+', 'a/b', '+/b', '$SYS/#', '+/+/c', 'a/+/#', 'devices/abc/#'];
      filters.forEach((f, i) => router.add(sub(`c${i}`, f)));
      for (const topic of ['a', 'a/b', 'a/b/c', 'x/b', '$SYS/x', '$SYS', 'a/', '/b', 'devices/abc', 'devices/abc/x']) {
        const got = router
          .match(topic)
          .perClient.map((s) => s[0]?.topicFilter)
          .sort();
        assert.deepEqual(got, filters.filter((f) => topicMatches(f, topic)).sort(), topic);
        assert.equal(router.hasSubscribers(topic), got.length > 0, topic);
      }
    });

    test('[MQTT-3.8.4-3] add replaces the same session and filter; size counts subscriptions', () => {
      const router = create();
      assert.equal(router.add(sub('x', 'a/+')), true);
      assert.equal(router.add(sub('x', 'a/+', undefined, 2)), false);
      assert.equal(router.size, 1);
      assert.equal(router.match('a/b').perClient[0]?.[0]?.qos, 2);
    });

    test('remove and clearSession take subscriptions away; a removed one no longer matches', () => {
      const router = create();
      router.add(sub('x', 'a/+'));
      router.add(sub('x', 'b/#'));
      router.add(sub('x', 'c', 'g'));
      router.add(sub('y', 'a/+'));
      assert.equal(router.remove('y', 'a/+', undefined), true);
      assert.equal(router.remove('y', 'a/+', undefined), false);
      router.clearSession('x', [sub('x', 'a/+'), sub('x', 'b/#'), sub('x', 'c', 'g')]);
      assert.equal(router.size, 0);
      for (const topic of ['a/b', 'b/c', 'c']) assert.equal(router.hasSubscribers(topic), false, topic);
    });

    test('[MQTT-3.3.4-2] one entry per session for overlapping filters; shared groups come separately, members in order', () => {
      const router = create();
      router.add(sub('x', 'a/#'));
      router.add(sub('x', 'a/b'));
      router.add(sub('y', 'a/b'));
      router.add(sub('s1', 'a/b', 'g'));
      router.add(sub('s2', 'a/b', 'g'));
      router.add(sub('s3', 'a/b', 'h'));
      const m = router.match('a/b');
      assert.deepEqual(m.perClient.map((l) => [l[0]?.sessionKey, l.length]).sort(), [
        ['x', 2],
        ['y', 1],
      ]);
      assert.deepEqual(m.shared.map((g) => [g.name, g.members.map((s) => s.sessionKey)]).sort(), [
        ['g', ['s1', 's2']],
        ['h', ['s3']],
      ]);
      assert.equal(router.size, 6);
    });

    test('v5 §4.8.2: a shared group keeps its round-robin position (`next`) between matches', () => {
      const router = create();
      router.add(sub('s1', 't', 'g'));
      router.add(sub('s2', 't', 'g'));
      const group = router.match('t').shared[0];
      assert.ok(group !== undefined);
      group.next = 1;
      assert.equal(router.match('t').shared[0]?.next, 1);
    });
  });
}
