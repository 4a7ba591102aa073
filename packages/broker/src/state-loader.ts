import type { Broker } from './broker';
import { messageError } from './codec/message-check';
import { Message } from './message';
import type { BrokerPersistence } from './persistence/persistence';
import { neverExpires } from './session';
import { storedOutgoingError, storedSessionError } from './state-check';
import { parseSharedFilter } from './topic';

/** Drops an entry that failed validation: counted, reported, and deleted so the next start does not meet it again. */
async function drop(broker: Broker, what: string, reason: string, remove: (() => unknown) | undefined): Promise<void> {
  broker.onStateDropped(what, reason);
  try {
    await remove?.();
  } catch (error) {
    broker.emit('persistenceError', error);
  }
}

/** Restores retained messages and persistent sessions (with their subscriptions and queues) at start. */
export async function loadState(broker: Broker, persistence: BrokerPersistence): Promise<void> {
  const state = await persistence.load();
  const now = broker.clock.now();
  for (const r of state.retained) {
    const invalid = messageError(r, broker.limits);
    if (invalid !== undefined) {
      const topic: unknown = (r as { topic?: unknown }).topic;
      await drop(broker, `retained message on ${String(topic)}`, invalid, typeof topic === 'string' ? () => persistence.deleteRetained(topic) : undefined);
      continue;
    }
    const message = new Message(r);
    if (message.isExpired(now)) await persistence.deleteRetained(r.topic);
    else broker.retained.set(message);
  }
  for (const s of state.sessions) {
    const invalid = storedSessionError(s, broker.limits);
    if (invalid !== undefined) {
      const clientId: unknown = (s as { clientId?: unknown }).clientId;
      await drop(broker, `session ${String(clientId)}`, invalid, typeof clientId === 'string' ? () => persistence.deleteSession(clientId) : undefined);
      continue;
    }
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
    const outgoing = [];
    for (const o of s.outgoing) {
      const bad = storedOutgoingError(o, broker.limits);
      if (bad === undefined) outgoing.push(o);
      else broker.onStateDropped(`a queued message of session ${s.clientId}`, bad);
    }
    session.restoreOutgoing(outgoing);
    broker.scheduleExpiry(session, deadline);
  }
}
