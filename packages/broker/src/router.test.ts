import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Broker } from './broker';
import type { Subscription } from './router';
import { SubscriptionTrie } from './subscription-trie';
import { connected } from './testing/test-client';

/** The in-process adapter, recording what the broker asks of the port. */
class RecordingRouter extends SubscriptionTrie {
  readonly calls: string[] = [];

  override add(sub: Subscription): boolean {
    this.calls.push(`add ${sub.sessionKey} ${sub.filter}`);
    return super.add(sub);
  }

  override remove(sessionKey: string, topicFilter: string, shareGroup: string | undefined): boolean {
    this.calls.push(`remove ${sessionKey} ${topicFilter}`);
    return super.remove(sessionKey, topicFilter, shareGroup);
  }

  override clearSession(sessionKey: string, subscriptions: Iterable<Subscription>): void {
    this.calls.push(`clear ${sessionKey}`);
    super.clearSession(sessionKey, subscriptions);
  }
}

describe('BrokerOptions.router: routing is a port (ADR 0005)', () => {
  test('subscriptions, routing, hasSubscribers and stats go through the injected router', async () => {
    const router = new RecordingRouter();
    const broker = new Broker({ router });
    const c = await connected(broker, 5, { clientId: 'c' });
    c.send({
      cmd: 'subscribe',
      messageId: 1,
      subscriptions: [
        { topic: 't/+', qos: 0 },
        { topic: '$share/g/u', qos: 0 },
      ],
    });
    await c.next('suback');
    assert.equal(broker.hasSubscribers('t/1'), true);
    assert.equal(broker.stats().subscriptions, 2);
    await broker.publish({ topic: 't/1', payload: 'x' });
    assert.equal((await c.next('publish')).topic, 't/1');
    c.send({ cmd: 'unsubscribe', messageId: 2, unsubscriptions: ['t/+'] });
    await c.next('unsuback');
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    // The trie clears a session one subscription at a time (its own remove).
    assert.deepEqual(router.calls, ['add c t/+', 'add c $share/g/u', 'remove c t/+', 'clear c', 'remove c u']);
    assert.equal(router.size, 0);
    await broker.close();
  });
});
