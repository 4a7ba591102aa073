import type { Clock, TimerHandle } from '../clock';
import { ThingsteadError } from '../errors';

export interface GroupCommitOptions {
  /** Flush as soon as this many items wait. */
  maxBatch: number;
  /** Flush at the latest this long after the first item of a batch arrived. */
  maxDelayMs: number;
  /** Refuse new items (UNAVAILABLE) while this many wait, so a slow store cannot grow memory without bound. */
  maxPending: number;
}

interface Waiter {
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit (DESIGN.md invariant 1): callers submit items and get a promise that settles when the
 * transaction holding them has committed. Items arriving within maxDelayMs, or while a commit is running,
 * share one transaction. One commit runs at a time, so batches commit in arrival order.
 */
export class GroupCommitter<T> {
  private items: T[] = [];
  private waiters: Waiter[] = [];
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly commit: (items: T[]) => Promise<void>,
    private readonly clock: Clock,
    private readonly o: GroupCommitOptions,
  ) {}

  get pending(): number {
    return this.items.length;
  }

  submit(items: readonly T[]): Promise<void> {
    if (this.closed) return Promise.reject(new ThingsteadError('UNAVAILABLE', 'Ingest is shutting down.'));
    if (items.length === 0) return Promise.resolve();
    if (this.items.length + items.length > this.o.maxPending) {
      return Promise.reject(new ThingsteadError('UNAVAILABLE', 'The ingest queue is full; retry shortly.'));
    }
    return new Promise<void>((resolve, reject) => {
      for (const item of items) this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.o.maxBatch) this.kick();
      else this.timer ??= this.clock.setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.o.maxDelayMs);
    });
  }

  /** Commits everything waiting and refuses new items; resolves when all commits have finished. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.items.length > 0) {
      this.kick();
      await this.running;
    }
  }

  private kick(): void {
    if (this.running || this.items.length === 0) return;
    if (this.timer) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.running = this.commit(items).then(
      () => {
        for (const w of waiters) w.resolve();
      },
      (e: unknown) => {
        for (const w of waiters) w.reject(e);
      },
    ).finally(() => {
      this.running = undefined;
      // What arrived during the commit goes next, without waiting for the timer again.
      if (this.items.length > 0) this.kick();
    });
  }
}
