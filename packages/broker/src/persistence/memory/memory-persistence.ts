import type { BrokerPersistence, LoadedState, PersistenceOp, StoredMessage, StoredOutgoing, StoredSessionState } from '../persistence';

function copyMessage(m: StoredMessage): StoredMessage {
  return { ...m, payload: Buffer.from(m.payload) };
}

function copyOutgoing(o: StoredOutgoing): StoredOutgoing {
  return { ...o, message: copyMessage(o.message) };
}

function copyState(s: StoredSessionState): StoredSessionState {
  const copy: StoredSessionState = { ...s, subscriptions: s.subscriptions.map((x) => ({ ...x })), inboundQos2: [...s.inboundQos2] };
  if (s.will !== undefined) copy.will = { ...s.will, message: copyMessage(s.will.message) };
  return copy;
}

/**
 * In-memory persistence: the default. State survives `broker.close()` and a new Broker given
 * the same instance (useful in tests), not a process restart.
 */
export class MemoryPersistence implements BrokerPersistence {
  private readonly sessions = new Map<string, StoredSessionState>();
  private readonly outgoing = new Map<string, Map<number, StoredOutgoing>>();
  private readonly keyOfSeq = new Map<number, string>();
  private readonly retained = new Map<string, StoredMessage>();

  load(): LoadedState {
    return {
      sessions: [...this.sessions.entries()].map(([key, s]) => ({
        ...copyState(s),
        outgoing: [...(this.outgoing.get(key)?.values() ?? [])].sort((a, b) => a.seq - b.seq).map(copyOutgoing),
      })),
      retained: [...this.retained.values()].map(copyMessage),
    };
  }

  apply(ops: readonly PersistenceOp[]): void {
    for (const op of ops) this.applyOne(op);
  }

  private applyOne(op: PersistenceOp): void {
    switch (op.type) {
      case 'saveSession':
        this.sessions.set(op.key, copyState(op.state));
        return;
      case 'deleteSession':
        this.sessions.delete(op.key);
        for (const seq of this.outgoing.get(op.key)?.keys() ?? []) this.keyOfSeq.delete(seq);
        this.outgoing.delete(op.key);
        return;
      case 'putOutgoing': {
        let items = this.outgoing.get(op.key);
        if (items === undefined) this.outgoing.set(op.key, (items = new Map<number, StoredOutgoing>()));
        items.set(op.item.seq, copyOutgoing(op.item));
        this.keyOfSeq.set(op.item.seq, op.key);
        return;
      }
      case 'setInflight': {
        const key = this.keyOfSeq.get(op.seq);
        const item = key === undefined ? undefined : this.outgoing.get(key)?.get(op.seq);
        if (item !== undefined) {
          item.packetId = op.packetId;
          item.state = op.state;
        }
        return;
      }
      case 'deleteOutgoing': {
        const key = this.keyOfSeq.get(op.seq);
        if (key !== undefined) this.outgoing.get(key)?.delete(op.seq);
        this.keyOfSeq.delete(op.seq);
        return;
      }
      case 'setRetained':
        this.retained.set(op.message.topic, copyMessage(op.message));
        return;
      case 'deleteRetained':
        this.retained.delete(op.topic);
        return;
    }
  }

  close(): void {
    // Nothing to release: the state stays readable by a later load().
  }
}
