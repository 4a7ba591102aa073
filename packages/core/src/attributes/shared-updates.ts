import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import { fail } from '../errors';
import type { AttributeDevice } from './attribute-service';
import type { AttributeEvent, AttributeValue } from './model';

/** What a long-polling device gets: the shared keys set ({"k":v}) and those deleted. */
export interface SharedUpdate {
  updated: Record<string, AttributeValue>;
  deleted: string[];
}

type Waiter = (u: SharedUpdate) => void;

/**
 * HTTP long-poll of shared-attribute changes (GET /api/v1/{token}/attributes/updates): a device's request waits
 * for the next `attributes` event of its shared scope on the bus, or for its timeout. Waiters per device are
 * bounded, so a device cannot hold an unbounded number of requests open.
 */
export class SharedAttributeUpdates {
  private readonly waiters = new Map<string, Waiter[]>();
  private readonly off: () => void;

  constructor(private readonly o: { bus: EventBus; clock: Clock; maxWaitersPerDevice?: number }) {
    this.off = o.bus.subscribe(
      'attributes',
      (e) => {
        this.deliver(e);
      },
      { name: 'http-attribute-poll' },
    );
  }

  /** The next change of the device's shared attributes within timeoutMs, or undefined. */
  next(device: AttributeDevice, timeoutMs: number): Promise<SharedUpdate | undefined> {
    const list = this.waiters.get(device.deviceId) ?? [];
    const max = this.o.maxWaitersPerDevice ?? 8;
    if (list.length >= max) fail('UNAVAILABLE', `${max} requests of this device wait for attribute updates already.`, { retryAfterSec: 1 });
    return new Promise((resolve) => {
      const waiter: Waiter = (u) => {
        this.o.clock.clearTimeout(timer);
        resolve(u);
      };
      const timer = this.o.clock.setTimeout(() => {
        const rest = (this.waiters.get(device.deviceId) ?? []).filter((w) => w !== waiter);
        if (rest.length > 0) this.waiters.set(device.deviceId, rest);
        else this.waiters.delete(device.deviceId);
        resolve(undefined);
      }, timeoutMs);
      list.push(waiter);
      this.waiters.set(device.deviceId, list);
    });
  }

  close(): void {
    this.off();
  }

  private deliver(e: AttributeEvent): void {
    if (e.scope !== 'shared') return;
    const list = this.waiters.get(e.deviceId);
    if (!list) return;
    this.waiters.delete(e.deviceId);
    const update = { updated: { ...e.updated }, deleted: [...e.deleted] };
    for (const w of list) w(update);
  }
}
