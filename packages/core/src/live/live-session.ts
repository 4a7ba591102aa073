import type { Principal } from '../accounts/model';
import type { AlarmSeverity } from '../alarms/model';
import type { AttributeScope } from '../attributes/model';
import { Outbox } from './outbox';
import type { DeviceFilter, LiveMessage, SubscriptionRequest } from './model';

/** Why the server ends a session; the transport maps each to its close code (websocket-api.md). */
export type LiveEndReason = 'too-slow' | 'access-revoked' | 'shutdown';

/** The transport's side of a session (a WebSocket in server/src/transports/ws). */
export interface LiveSink {
  /** Messages wait: take them with session.take() while the socket has room, and again on the next wake. */
  wake(): void;
  /** The server ended the session: close the socket with the reason's code. */
  end(reason: LiveEndReason, message: string): void;
}

/** One subscription of a session, resolved: its tenant, its device or filter, its keys. */
export interface ActiveSubscription {
  readonly req: SubscriptionRequest;
  readonly session: LiveSession;
  /** The tenant whose events it sees: the device's, or the filter's. */
  readonly tenantId: string;
  readonly deviceId?: string;
  readonly filter?: DeviceFilter;
  readonly keys?: ReadonlySet<string>;
  readonly scope?: AttributeScope;
  /** An alarms subscription's severities and types (all when absent). */
  readonly severities?: ReadonlySet<AlarmSeverity>;
  readonly types?: ReadonlySet<string>;
  /**
   * Live updates held while the current values or the history are read; undefined once live. Bounded by the
   * session's maxQueuedMessages like the outbox (more ends the subscription).
   */
  pending: LiveMessage[] | undefined;
  /** Drops from live updates what the snapshot or history sent, for a while after it (load.ts). */
  seam: ((m: LiveMessage) => LiveMessage | undefined) | undefined;
}

/**
 * One client of the live API: who it is, its subscriptions and its bounded outbox (outbox.ts). Created by
 * LiveService.open; the transport sends what take() gives and calls close() when the client goes.
 */
export class LiveSession {
  readonly subscriptions = new Map<string, ActiveSubscription>();
  private readonly outbox: Outbox;
  private ended = false;

  constructor(
    readonly principal: Principal,
    private readonly sink: LiveSink,
    o: { maxQueuedMessages: number; onConflated: (n: number) => void; onClosed: (s: LiveSession) => void },
  ) {
    this.outbox = new Outbox(o.maxQueuedMessages);
    this.onConflated = o.onConflated;
    this.onClosed = o.onClosed;
  }

  private readonly onConflated: (n: number) => void;
  private readonly onClosed: (s: LiveSession) => void;

  get closed(): boolean {
    return this.ended;
  }

  /** Messages waiting for the socket. */
  get queued(): number {
    return this.outbox.size;
  }

  /** Values this session's outbox replaced by newer ones. */
  get conflated(): number {
    return this.outbox.conflated;
  }

  /** Queues msg (conflated under `key` when behind); a message that does not fit ends the session as too slow. */
  send(msg: LiveMessage, key?: string): void {
    if (this.ended) return;
    const before = this.outbox.conflated;
    if (!this.outbox.push(msg, key)) {
      this.end('too-slow', `more than ${this.outbox.size} messages waited for the client`);
      return;
    }
    if (this.outbox.conflated !== before) this.onConflated(this.outbox.conflated - before);
    this.sink.wake();
  }

  take(): LiveMessage | undefined {
    return this.outbox.shift();
  }

  /** Ends the session from the server's side. */
  end(reason: LiveEndReason, message: string): void {
    if (this.ended) return;
    this.close();
    this.sink.end(reason, message);
  }

  /** The client went (or the session ended): its subscriptions and queue are dropped. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.outbox.clear();
    this.onClosed(this);
  }
}
