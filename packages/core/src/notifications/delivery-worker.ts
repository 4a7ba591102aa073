import type { Clock, TimerHandle } from '../clock';
import type { Store } from '../store';
import { openDeliveryStatuses, type DeliveryPatch, type NotificationLimits, type StoredDelivery } from './model';
import { retryDelay } from './retry';

/** Why an attempt failed; permanent: trying again cannot help. */
export interface SendFailure {
  error: string;
  permanent: boolean;
}

export interface DeliveryWorkerOptions {
  store: Store;
  clock: Clock;
  limits: NotificationLimits;
  /** Makes one attempt; resolves undefined when it was delivered. */
  send: (d: StoredDelivery) => Promise<SendFailure | undefined>;
  random: () => number;
  /** A fault of the worker itself (the store failed): reported, the delivery stays open and is picked up again. */
  onError: (err: unknown) => void;
}

/**
 * Sends open deliveries: at most `concurrency` at a time from a bounded queue (what does not fit is refused by
 * the service before it is stored, and counted). A poll driven by the clock picks up what is due from the store:
 * retries whose backoff ended, and deliveries a previous process left PENDING or RETRYING. Every status change is
 * a guarded store update, so a delivery that became final is never sent again.
 */
export class DeliveryWorker {
  private readonly queue: string[] = [];
  /** Queued or being sent: the poll does not queue them twice. */
  private readonly known = new Set<string>();
  private running = 0;
  private polling: Promise<void> | undefined;
  private timer: TimerHandle | undefined;
  private closed = false;
  private waiters: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: DeliveryWorkerOptions) {}

  /** Deliveries waiting in this process or being sent. */
  get backlog(): number {
    return this.queue.length + this.running;
  }

  /** Starts the poll; its first pass resumes what a previous process left open. */
  start(): void {
    if (this.closed || this.timer) return;
    void this.poll();
    this.schedule();
  }

  enqueue(id: string): void {
    if (this.closed || this.known.has(id)) return;
    this.known.add(id);
    this.queue.push(id);
    this.pump();
  }

  /** One pass over the deliveries that are due (the clock drives it; tests call it directly). */
  poll(): Promise<void> {
    this.polling ??= this.pollOnce()
      .catch((err: unknown) => {
        this.o.onError(err);
      })
      .finally(() => {
        this.polling = undefined;
        this.settle();
      });
    return this.polling;
  }

  /** One attempt now, outside the queue (a channel test); answers the delivery as it is after it. */
  async attempt(d: StoredDelivery): Promise<StoredDelivery> {
    const failure = await this.o.send(d);
    const now = this.o.clock.now();
    const attempts = d.attempts + 1;
    let patch: DeliveryPatch;
    if (failure === undefined) patch = { status: 'SENT', attempts, sentAt: now, lastError: null, nextAttemptAt: null };
    else {
      const delay =
        failure.permanent || attempts >= d.maxAttempts ? undefined : retryDelay(this.o.limits.retryDelaysMs, attempts, this.o.limits.jitter, this.o.random);
      patch =
        delay === undefined
          ? { status: 'FAILED', attempts, lastError: failure.error, nextAttemptAt: null }
          : { status: 'RETRYING', attempts, lastError: failure.error, nextAttemptAt: now + delay };
    }
    await this.o.store.notifications.updateDelivery(d.id, openDeliveryStatuses, patch);
    return { ...d, ...patch };
  }

  /** Resolves when nothing is queued, being sent or polled (tests wait on it after advancing the clock). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Stops the poll and the queue; waits for the sends under way (each bounded by its timeout). What is queued stays PENDING in the store. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    this.queue.length = 0;
    await this.polling;
    await Promise.all([...this.inFlight]);
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.running === 0 && this.polling === undefined;
  }

  private settle(): void {
    if (!this.isIdle()) return;
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private async pollOnce(): Promise<void> {
    if (this.closed) return;
    const room = Math.min(this.o.limits.maxQueued - this.backlog, 500);
    if (room <= 0) return;
    let left = room;
    for (const d of await this.o.store.notifications.dueDeliveries(this.o.clock.now(), room + this.known.size)) {
      if (left === 0) break;
      if (this.known.has(d.id)) continue;
      this.enqueue(d.id);
      left--;
    }
  }

  private pump(): void {
    while (!this.closed && this.running < this.o.limits.concurrency) {
      const id = this.queue.shift();
      if (id === undefined) break;
      this.running++;
      const run = this.run(id)
        .catch((err: unknown) => {
          this.o.onError(err);
        })
        .finally(() => {
          this.running--;
          this.known.delete(id);
          this.inFlight.delete(run);
          this.pump();
          this.settle();
        });
      this.inFlight.add(run);
    }
  }

  private async run(id: string): Promise<void> {
    const d = await this.o.store.notifications.getDelivery(id);
    if (!d || !openDeliveryStatuses.includes(d.status)) return;
    await this.attempt(d);
  }

  private schedule(): void {
    if (this.closed) return;
    // The next poll is set before this one runs, so the cadence does not drift by the time a poll takes.
    this.timer = this.o.clock.setTimeout(() => {
      this.schedule();
      void this.poll();
    }, this.o.limits.pollIntervalMs);
    this.timer.unref?.();
  }
}
