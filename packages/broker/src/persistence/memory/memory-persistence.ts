import type { BrokerPersistence, LoadedState, StoredMessage, StoredOutgoing, StoredSession, StoredSessionState } from '../persistence';

function copyMessage(m: StoredMessage): StoredMessage {
  return { ...m, payload: Buffer.from(m.payload) };
}

function copyOutgoing(o: StoredOutgoing): StoredOutgoing {
  return { ...o, message: copyMessage(o.message) };
}

/**
 * In-memory persistence: the default. State survives `broker.close()` and a new Broker given
 * the same instance (useful in tests), not a process restart.
 */
export class MemoryPersistence implements BrokerPersistence {
  private readonly sessions = new Map<string, StoredSession>();
  private readonly retained = new Map<string, StoredMessage>();

  load(): LoadedState {
    return {
      sessions: [...this.sessions.values()].map((s) => ({ ...s, subscriptions: [...s.subscriptions], outgoing: s.outgoing.map(copyOutgoing) })),
      retained: [...this.retained.values()].map(copyMessage),
    };
  }

  saveSession(session: StoredSessionState): void {
    const outgoing = this.sessions.get(session.clientId)?.outgoing ?? [];
    this.sessions.set(session.clientId, { ...session, subscriptions: [...session.subscriptions], inboundQos2: [...session.inboundQos2], outgoing });
  }

  deleteSession(clientId: string): void {
    this.sessions.delete(clientId);
  }

  appendOutgoing(clientId: string, item: StoredOutgoing): void {
    this.sessions.get(clientId)?.outgoing.push(copyOutgoing(item));
  }

  replaceOutgoing(clientId: string, items: StoredOutgoing[]): void {
    const session = this.sessions.get(clientId);
    if (session !== undefined) session.outgoing = items.map(copyOutgoing);
  }

  setRetained(message: StoredMessage): void {
    this.retained.set(message.topic, copyMessage(message));
  }

  deleteRetained(topic: string): void {
    this.retained.delete(topic);
  }

  close(): void {
    // Nothing to release: the state stays readable by a later load().
  }
}
