import type { Message } from '../message';
import { toStoredMessage, toStoredOutgoing, type Outgoing, type Session } from '../session';
import type { BrokerPersistence, PersistenceOp } from './persistence';

type Entry =
  | PersistenceOp
  /** Serialised when the batch is written, so a session changed several times in one batch is written once. */
  | { type: 'session'; session: Session }
  /** Serialised when the batch is written (its packet id may be set meanwhile); cancelled when acknowledged first. */
  | { type: 'put'; key: string; outgoing: Outgoing; cancelled: boolean };

interface Batch {
  entries: Entry[];
  done: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Waiters get the rejection through their own handlers; nobody waiting is not an unhandled rejection.
  done.catch(() => undefined);
  return { entries: [], done, resolve, reject };
}

function toOp(e: Entry): PersistenceOp | undefined {
  switch (e.type) {
    case 'session':
      return { type: 'saveSession', key: e.session.key, state: e.session.state() };
    case 'put':
      return e.cancelled ? undefined : { type: 'putOutgoing', key: e.key, item: toStoredOutgoing(e.outgoing) };
    default:
      return e;
  }
}

/**
 * Group commit for the broker's state (DESIGN.md invariant 1): every change is recorded in the current batch;
 * the batch is written by one persistence.apply() call after the current event-loop turn (setImmediate), so
 * all the messages that arrived in one read of the sockets share one transaction. One batch is written at a
 * time, in order. `flushed()` resolves when everything recorded so far is stored; the broker acknowledges a
 * PUBLISH whose routing recorded something only then.
 */
export class PersistenceWriter {
  private batch = newBatch();
  private readonly dirtySessions = new Map<string, Session>();
  private readonly pendingPuts = new Map<number, Extract<Entry, { type: 'put' }>>();
  private writing: Promise<void> | undefined;
  private written: Batch | undefined;
  private scheduled = false;
  private nextSeq = 1;

  constructor(
    private readonly persistence: BrokerPersistence,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** After load: numbers continue above every persisted one. */
  seqAtLeast(seq: number): void {
    if (seq >= this.nextSeq) this.nextSeq = seq + 1;
  }

  /** True when nothing is waiting to be written or being written. */
  get idle(): boolean {
    return this.batch.entries.length === 0 && this.writing === undefined;
  }

  saveSession(session: Session): void {
    if (this.dirtySessions.get(session.key) === session) return;
    this.dirtySessions.set(session.key, session);
    this.push({ type: 'session', session });
  }

  deleteSession(key: string): void {
    this.dirtySessions.delete(key);
    this.push({ type: 'deleteSession', key });
  }

  /** Records a message held for a persistent session; gives it its seq. */
  putOutgoing(session: Session, outgoing: Outgoing): void {
    outgoing.seq = this.nextSeq++;
    const entry = { type: 'put' as const, key: session.key, outgoing, cancelled: false };
    this.pendingPuts.set(outgoing.seq, entry);
    this.push(entry);
  }

  /** The record went into flight (packet id) or on to PUBREL. */
  inflightChanged(outgoing: Outgoing): void {
    if (outgoing.seq === 0 || this.pendingPuts.has(outgoing.seq)) return;
    this.push({ type: 'setInflight', seq: outgoing.seq, packetId: outgoing.packetId, state: outgoing.state });
  }

  /** The record is done with (acknowledged, dropped, expired). */
  deleteOutgoing(outgoing: Outgoing): void {
    if (outgoing.seq === 0) return;
    const pending = this.pendingPuts.get(outgoing.seq);
    if (pending !== undefined) {
      // Delivered and acknowledged before it was ever written: nothing to write at all.
      pending.cancelled = true;
      this.pendingPuts.delete(outgoing.seq);
    } else {
      this.push({ type: 'deleteOutgoing', seq: outgoing.seq });
    }
    outgoing.seq = 0;
  }

  setRetained(message: Message): void {
    this.push({ type: 'setRetained', message: toStoredMessage(message) });
  }

  deleteRetained(topic: string): void {
    this.push({ type: 'deleteRetained', topic });
  }

  /** Resolves when everything recorded so far is stored; rejects when that write failed. */
  flushed(): Promise<void> {
    if (this.batch.entries.length > 0) return this.batch.done;
    return this.written?.done ?? Promise.resolve();
  }

  /** Writes everything recorded, now; for close(). Never rejects (failures are reported through onError). */
  async drain(): Promise<void> {
    while (!this.idle) {
      if (this.writing === undefined) this.write();
      await this.writing;
    }
  }

  private push(entry: Entry): void {
    this.batch.entries.push(entry);
    if (!this.scheduled && this.writing === undefined) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        if (this.writing === undefined) this.write();
      });
    }
  }

  private write(): void {
    const batch = this.batch;
    if (batch.entries.length === 0) return;
    this.batch = newBatch();
    this.written = batch;
    this.dirtySessions.clear();
    this.pendingPuts.clear();
    const ops: PersistenceOp[] = [];
    for (const e of batch.entries) {
      const op = toOp(e);
      if (op !== undefined) ops.push(op);
    }
    const run = async (): Promise<void> => {
      try {
        await this.persistence.apply(ops);
        batch.resolve();
      } catch (error) {
        this.onError(error);
        batch.reject(error);
      }
    };
    this.writing = run().finally(() => {
      this.writing = undefined;
      this.written = undefined;
      // What was recorded while this batch was being written goes next.
      if (this.batch.entries.length > 0 && !this.scheduled) this.write();
    });
  }
}
