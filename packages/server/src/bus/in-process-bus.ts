import type { BusEvents, EventBus } from '@thingstead/core';

/**
 * The single-node bus: synchronous fan-out inside the process. A throwing handler is reported and does not
 * stop other handlers or the publisher. (NATS replaces it for clusters.)
 */
export class InProcessBus implements EventBus {
  private handlers = new Map<keyof BusEvents, Set<(e: never) => void>>();

  constructor(private readonly onError: (topic: string, err: unknown) => void) {}

  publish<K extends keyof BusEvents>(topic: K, event: BusEvents[K]): void {
    const set = this.handlers.get(topic);
    if (!set) return;
    for (const h of set) {
      try {
        (h as (e: BusEvents[K]) => void)(event);
      } catch (err) {
        this.onError(topic, err);
      }
    }
  }

  subscribe<K extends keyof BusEvents>(topic: K, handler: (event: BusEvents[K]) => void): () => void {
    let set = this.handlers.get(topic);
    if (!set) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }
}
