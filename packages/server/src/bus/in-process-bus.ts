import type { BusEvents, BusHandler, BusTopic, EventBus, SubscribeOptions } from '@thingstead/core';

export interface InProcessBusOptions {
  /** A handler threw or rejected. */
  onError: (topic: string, subscriber: string, err: unknown) => void;
  /** A subscriber's queue was full and its oldest event was dropped. */
  onDropped: (topic: string, subscriber: string) => void;
  /** Default SubscribeOptions.maxQueued. */
  maxQueued?: number;
}

interface Subscriber {
  topic: string;
  name: string;
  handler: (event: unknown) => void | Promise<void>;
  maxQueued: number;
  queue: unknown[];
  head: number;
  scheduled: boolean;
  active: boolean;
  /** Resolvers of drain() calls waiting for this subscriber's queue to empty. */
  idle: (() => void)[];
}

/** Events one subscriber handles in one turn of the event loop before I/O is served again. */
const perTurn = 256;

/**
 * The single-node bus. publish() only appends to each subscriber's queue; the queues are run after the
 * current turn of the event loop (setImmediate), each subscriber on its own: a handler that returns a promise
 * holds only its own next event, and a subscriber whose queue is full loses its oldest event (reported).
 */
export class InProcessBus implements EventBus {
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly maxQueued: number;

  constructor(private readonly o: InProcessBusOptions) {
    this.maxQueued = o.maxQueued ?? 10_000;
  }

  publish<K extends BusTopic>(topic: K, event: BusEvents[K]): Promise<void> {
    const set = this.subscribers.get(topic);
    if (set) {
      for (const s of set) {
        if (s.queue.length - s.head >= s.maxQueued) {
          s.queue[s.head++] = undefined;
          this.o.onDropped(topic, s.name);
        }
        s.queue.push(event);
        this.schedule(s);
      }
    }
    return Promise.resolve();
  }

  subscribe<K extends BusTopic>(topic: K, handler: BusHandler<K>, options: SubscribeOptions): () => void {
    let set = this.subscribers.get(topic);
    if (!set) this.subscribers.set(topic, (set = new Set()));
    const s: Subscriber = {
      topic,
      name: options.name,
      handler: handler as Subscriber['handler'],
      maxQueued: options.maxQueued ?? this.maxQueued,
      queue: [],
      head: 0,
      scheduled: false,
      active: true,
      idle: [],
    };
    set.add(s);
    return () => {
      s.active = false;
      set.delete(s);
      s.queue = [];
      s.head = 0;
      this.settle(s);
    };
  }

  async drain(): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const set of this.subscribers.values()) {
      for (const s of set) {
        if (s.queue.length - s.head > 0 || s.scheduled) waits.push(new Promise((resolve) => s.idle.push(resolve)));
      }
    }
    await Promise.all(waits);
  }

  private schedule(s: Subscriber): void {
    if (s.scheduled) return;
    s.scheduled = true;
    setImmediate(() => {
      void this.run(s);
    });
  }

  private async run(s: Subscriber): Promise<void> {
    for (let n = 0; s.active && s.head < s.queue.length; n++) {
      if (n === perTurn) {
        // Let the event loop serve I/O; the rest runs next turn.
        setImmediate(() => {
          void this.run(s);
        });
        return;
      }
      const event = s.queue[s.head];
      s.queue[s.head++] = undefined;
      if (s.head >= 1024 && s.head * 2 >= s.queue.length) {
        s.queue = s.queue.slice(s.head);
        s.head = 0;
      }
      try {
        const r = s.handler(event);
        if (r !== undefined) await r;
      } catch (err) {
        this.o.onError(s.topic, s.name, err);
      }
    }
    s.queue = [];
    s.head = 0;
    s.scheduled = false;
    this.settle(s);
  }

  private settle(s: Subscriber): void {
    if (s.scheduled && s.active) return;
    const idle = s.idle;
    s.idle = [];
    for (const resolve of idle) resolve();
  }
}
