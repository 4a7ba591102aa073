import { messageError } from './codec/message-check';
import { Message } from './message';
import type { BrokerLimits, Clock } from './options';
import type { BrokerPersistence, PersistenceOp } from './persistence/persistence';
import type { PersistenceWriter } from './persistence/writer';
import type { RetainedStore } from './retained-store';
import type { Subscription } from './router';
import { neverExpires, sessionKey, type Session } from './session';
import { storedOutgoingError, storedSessionError } from './state-check';
import { parseSharedFilter } from './topic';

/** What loading needs of the broker. */
export interface LoaderContext {
  readonly limits: Readonly<BrokerLimits>;
  readonly clock: Clock;
  readonly retained: RetainedStore;
  readonly writer: PersistenceWriter;
  createSession(clientId: string, namespace: string): Session;
  addSubscription(session: Session, sub: Subscription): boolean;
  scheduleExpiry(session: Session, deadline: number): void;
  scheduleWill(session: Session, will: Message, delayMs: number): void;
  route(message: Message): boolean;
  onStateDropped(what: string, reason: string): void;
  persistenceError(error: unknown): void;
}

/**
 * Restores retained messages and persistent sessions (with their subscriptions, queues and wills) at start.
 * Persisted state is input too: an entry that fails validation is dropped, counted, reported and deleted, so
 * the next start does not meet it again. Wills of sessions that ended while the broker was down, or whose
 * connection the stop cut, are scheduled from when the session went away [MQTT-3.1.2-8], once every session
 * is back.
 */
export async function loadState(broker: LoaderContext, persistence: BrokerPersistence): Promise<void> {
  const state = await persistence.load();
  const now = broker.clock.now();
  const cleanup: PersistenceOp[] = [];
  for (const u of state.unreadable ?? []) broker.onStateDropped(u.what, u.reason);
  for (const r of state.retained) {
    const invalid = messageError(r, broker.limits);
    if (invalid !== undefined) {
      const topic: unknown = (r as { topic?: unknown }).topic;
      broker.onStateDropped(`retained message on ${String(topic)}`, invalid);
      if (typeof topic === 'string') cleanup.push({ type: 'deleteRetained', topic });
      continue;
    }
    const message = new Message(r);
    if (message.isExpired(now)) cleanup.push({ type: 'deleteRetained', topic: r.topic });
    else broker.retained.set(message);
  }
  const wills: { session: Session; message: Message; dueAt: number }[] = [];
  const expiredWills: Message[] = [];
  for (const s of state.sessions) {
    const invalid = storedSessionError(s, broker.limits);
    const clientId: unknown = (s as { clientId?: unknown }).clientId;
    const namespace: unknown = (s as { namespace?: unknown }).namespace ?? '';
    const key = typeof clientId === 'string' && typeof namespace === 'string' ? sessionKey(namespace, clientId) : undefined;
    if (invalid !== undefined || key === undefined || typeof namespace !== 'string') {
      broker.onStateDropped(`session ${String(clientId)}`, invalid ?? 'no client id');
      if (key !== undefined) cleanup.push({ type: 'deleteSession', key });
      continue;
    }
    for (const o of s.outgoing) if (typeof o.seq === 'number') broker.writer.seqAtLeast(o.seq);
    // A session that was connected when the broker stopped counts as disconnected now.
    const disconnectedAt = s.disconnectedAt ?? now;
    const deadline = disconnectedAt + s.expiryIntervalSec * 1000;
    if (s.expiryIntervalSec !== neverExpires && now >= deadline) {
      cleanup.push({ type: 'deleteSession', key });
      // [MQTT-3.1.2-8] the will is sent when the session ends, if its delay had not passed before.
      if (s.will !== undefined) expiredWills.push(new Message(s.will.message));
      continue;
    }
    const session = broker.createSession(s.clientId, namespace);
    session.expiryIntervalSec = s.expiryIntervalSec;
    // Its subscriptions are stored mounted and its held copies as the client sees them (ADR 0005).
    session.mountPoint = s.mountPoint ?? '';
    session.disconnectedAt = disconnectedAt;
    session.persisted = true;
    for (const id of s.inboundQos2) session.inboundQos2.add(id);
    for (const sub of s.subscriptions) {
      const shared = parseSharedFilter(sub.filter);
      broker.addSubscription(session, {
        sessionKey: key,
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
      if (bad === undefined) {
        outgoing.push(o);
      } else {
        broker.onStateDropped(`a queued message of session ${s.clientId}`, bad);
        if (typeof o.seq === 'number') cleanup.push({ type: 'deleteOutgoing', seq: o.seq });
      }
    }
    session.restoreOutgoing(outgoing);
    if (s.will !== undefined) {
      const message = new Message(s.will.message);
      session.will = { message, delaySec: s.will.delaySec };
      wills.push({ session, message, dueAt: disconnectedAt + s.will.delaySec * 1000 });
    }
    broker.scheduleExpiry(session, deadline);
  }
  if (cleanup.length > 0) {
    try {
      await persistence.apply(cleanup);
    } catch (error) {
      broker.persistenceError(error);
    }
  }
  for (const m of expiredWills) broker.route(m);
  for (const w of wills) broker.scheduleWill(w.session, w.message, w.dueAt - now);
}
