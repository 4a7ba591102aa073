import type { Clock, TimerHandle } from '../clock';
import { ThingsteadError } from '../errors';

/**
 * The group-commit settings, named as in the server's config section `telemetry` (an item is a telemetry
 * value, a submitter a device), so one setting has one name from the schema down to here.
 */
export interface GroupCommitLimits {
  /** Flush as soon as this many items wait; a batch holds at most this many (one larger submission commits alone). */
  groupCommitMaxRows: number;
  /** Flush at the latest this long after the first item of a batch arrived. */
  groupCommitMaxDelayMs: number;
  /** Refuse new items (UNAVAILABLE) while this many wait, so a slow store cannot grow memory without bound. */
  maxPendingPoints: number;
  /**
   * Refuse a submitter's new items while this many of its own wait (unless none do), so one cannot fill the
   * queue. At most maxPendingPoints (a larger value counts as maxPendingPoints). Default: maxPendingPoints.
   */
  maxPendingPointsPerDevice?: number;
}

export interface GroupCommitOptions extends GroupCommitLimits {
  /**
   * Runs the next batch when more waits than one batch held. It must let the event loop serve I/O first (the
   * server passes setImmediate), so health checks and other connections are not held up behind a backlog.
   * Default: a 0 ms timer of the clock.
   */
  defer?: (fn: () => void) => void;
}

/** One submit() call's items, as the commit function sees them. */
export interface Submission<T> {
  key: string;
  items: readonly T[];
}

interface Entry<T, R> extends Submission<T> {
  resolve: (result: R) => void;
  reject: (e: unknown) => void;
}

/** A FIFO with O(1) push and shift (an array and a moving head, compacted now and then). */
class Fifo<T> {
  private a: T[] = [];
  private head = 0;
  get length(): number {
    return this.a.length - this.head;
  }
  push(v: T): void {
    this.a.push(v);
  }
  peek(): T | undefined {
    return this.a[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.a.length) return undefined;
    const v = this.a[this.head];
    this.a[this.head++] = undefined as T;
    if (this.head >= 1024 && this.head * 2 >= this.a.length) {
      this.a = this.a.slice(this.head);
      this.head = 0;
    }
    return v;
  }
}

/** One submitter's waiting entries, in its own order. */
interface KeyQueue<T, R> {
  key: string;
  entries: Fifo<Entry<T, R>>;
  rows: number;
}

/** Retry-After (s) a refused submitter is told. */
const retryAfterSec = 1;

/**
 * Group commit (DESIGN.md invariant 1): callers submit items and get a promise that settles when the
 * transaction holding them has committed. Items arriving within groupCommitMaxDelayMs, or while a commit is running,
 * share one transaction. One commit runs at a time, so batches commit in order.
 *
 * Fairness (DESIGN.md invariant 9): each submission names its submitter (the device). When more waits than one
 * batch holds, a batch takes one submission of each waiting submitter in turn (round-robin), so a heavy
 * submitter cannot fill every batch: a light one's items go into the first batch formed after they arrive.
 * A submitter's own submissions keep their order (they commit in that order, in the same or later batches).
 */
export class GroupCommitter<T, R = void> {
  private readonly queues = new Map<string, KeyQueue<T, R>>();
  /** Submitters with something waiting, in turn order. */
  private readonly turn = new Fifo<KeyQueue<T, R>>();
  private waiting = 0;
  private timer: TimerHandle | undefined;
  private deferred = false;
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly maxPendingPerDevice: number;
  private readonly defer: (fn: () => void) => void;

  constructor(
    /** Commits one batch (all items, and the same items by submission); its result goes to every submission in the batch. */
    private readonly commit: (items: T[], submissions: readonly Submission<T>[]) => Promise<R>,
    private readonly clock: Clock,
    private readonly o: GroupCommitOptions,
  ) {
    this.maxPendingPerDevice = Math.min(o.maxPendingPointsPerDevice ?? o.maxPendingPoints, o.maxPendingPoints);
    this.defer =
      o.defer ??
      ((fn) => {
        clock.setTimeout(fn, 0);
      });
  }

  get pending(): number {
    return this.waiting;
  }

  /** Items of one submitter waiting for their commit. */
  pendingOf(key: string): number {
    return this.queues.get(key)?.rows ?? 0;
  }

  /** Resolves with the result of the commit that held the items; undefined for an empty submission. */
  submit(key: string, items: readonly T[]): Promise<R | undefined> {
    if (this.closed) return Promise.reject(new ThingsteadError('UNAVAILABLE', 'Ingest is shutting down.'));
    if (items.length === 0) return Promise.resolve(undefined);
    if (this.waiting + items.length > this.o.maxPendingPoints) {
      return Promise.reject(
        new ThingsteadError('UNAVAILABLE', 'The ingest queue is full; retry shortly.', { details: { retryAfterSec, limit: 'telemetry.maxPendingPoints' } }),
      );
    }
    let q = this.queues.get(key);
    if (q !== undefined && q.rows > 0 && q.rows + items.length > this.maxPendingPerDevice) {
      return Promise.reject(
        new ThingsteadError('UNAVAILABLE', `This device already has ${q.rows} values waiting to be stored; slow down and retry shortly.`, {
          details: { retryAfterSec, limit: 'telemetry.maxPendingPointsPerDevice' },
        }),
      );
    }
    return new Promise<R>((resolve, reject) => {
      if (q === undefined) {
        q = { key, entries: new Fifo(), rows: 0 };
        this.queues.set(key, q);
        this.turn.push(q);
      }
      q.entries.push({ key, items, resolve, reject });
      q.rows += items.length;
      this.waiting += items.length;
      if (this.waiting >= this.o.groupCommitMaxRows) this.kick();
      else
        this.timer ??= this.clock.setTimeout(() => {
          this.timer = undefined;
          this.kick();
        }, this.o.groupCommitMaxDelayMs);
    });
  }

  /** Commits everything waiting and refuses new items; resolves when all commits have finished. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.waiting > 0) {
      this.kick();
      await this.running;
    }
  }

  /** Takes the next batch: one submission per submitter in turn, up to groupCommitMaxRows items. */
  private take(): { items: T[]; entries: Entry<T, R>[] } {
    const items: T[] = [];
    const entries: Entry<T, R>[] = [];
    for (let q = this.turn.peek(); q !== undefined; q = this.turn.peek()) {
      const e = q.entries.peek();
      if (e === undefined) break;
      // A submission is never split; one that does not fit waits at the head of the turn for the next batch.
      if (items.length > 0 && items.length + e.items.length > this.o.groupCommitMaxRows) break;
      q.entries.shift();
      this.turn.shift();
      q.rows -= e.items.length;
      this.waiting -= e.items.length;
      for (const item of e.items) items.push(item);
      entries.push(e);
      if (q.entries.length > 0) this.turn.push(q);
      else this.queues.delete(q.key);
      if (items.length >= this.o.groupCommitMaxRows) break;
    }
    return { items, entries };
  }

  private kick(): void {
    if (this.running || this.waiting === 0) return;
    if (this.timer) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const { items, entries } = this.take();
    this.running = this.commit(items, entries)
      .then(
        (result) => {
          for (const e of entries) e.resolve(result);
        },
        (err: unknown) => {
          for (const e of entries) e.reject(err);
        },
      )
      .finally(() => {
        this.running = undefined;
        // What waits goes next, without waiting for the timer again, but after the event loop served I/O.
        if (this.waiting > 0 && !this.deferred) {
          this.deferred = true;
          this.defer(() => {
            this.deferred = false;
            this.kick();
          });
        }
      });
  }
}
