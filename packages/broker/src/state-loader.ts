import type { Broker } from './broker';
import { Message } from './message';
import type { BrokerPersistence } from './persistence/persistence';
import { neverExpires } from './session';
import { parseSharedFilter } from './topic';

/** Restores retained messages and persistent sessions (with their subscriptions and queues) at start. */
export async function loadState(broker: Broker, persistence: BrokerPersistence): Promise<void> {
  const state = await persistence.load();
  const now = broker.clock.now();
  for (const r of state.retained) {
    const message = new Message(r);
    if (message.isExpired(now)) await persistence.deleteRetained(r.topic);
    else broker.retained.set(message);
  }
  for (const s of state.sessions) {
    // A session that was connected when the broker stopped counts as disconnected now.
    const disconnectedAt = s.disconnectedAt ?? now;
    const deadline = disconnectedAt + s.expiryIntervalSec * 1000;
    if (s.expiryIntervalSec !== neverExpires && now >= deadline) {
      await persistence.deleteSession(s.clientId);
      continue;
    }
    const session = broker.createSession(s.clientId);
    session.expiryIntervalSec = s.expiryIntervalSec;
    session.disconnectedAt = disconnectedAt;
    session.persisted = true;
    for (const id of s.inboundQos2) session.inboundQos2.add(id);
    for (const sub of s.subscriptions) {
      const shared = parseSharedFilter(sub.filter);
      broker.addSubscription(session, {
        clientId: s.clientId,
        filter: sub.filter,
        topicFilter: shared ? shared.filter : sub.filter,
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        subscriptionId: sub.subscriptionId,
        shareGroup: shared?.group,
      });
    }
    session.restoreOutgoing(s.outgoing);
    broker.scheduleExpiry(session, deadline);
  }
}
