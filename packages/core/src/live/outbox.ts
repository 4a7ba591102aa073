import type { LiveMessage } from './model';

interface Slot {
  msg: LiveMessage;
  /** Set for a message later updates of the same subscription, device (and scope) may be merged into. */
  key: string | undefined;
}

/**
 * The bounded queue between a live session and its socket. Below the bound every update is queued on its own,
 * in order. At the bound the client is behind: an update of latest telemetry, attributes or connectivity is
 * merged into the newest waiting message of the same conflation key (subscription, device, scope), keeping the
 * latest value per key, and what it replaced is counted. An update that cannot be merged (a series value, an
 * event, or a key with nothing waiting) overflows: push answers false and the session ends, since dropping it
 * would leave a silent gap. So a slow client costs at most maxQueued messages, each with one value per key.
 */
export class Outbox {
  private readonly queue: (Slot | undefined)[] = [];
  private head = 0;
  /** The newest waiting slot of each conflation key. */
  private readonly waiting = new Map<string, Slot>();
  /** Values replaced by newer ones of the same key since the session began. */
  conflated = 0;

  constructor(private readonly maxQueued: number) {}

  get size(): number {
    return this.queue.length - this.head;
  }

  /** Queues msg (merging it when behind and key is given); false when the bound is reached and it cannot be merged. */
  push(msg: LiveMessage, key?: string): boolean {
    if (this.size >= this.maxQueued) {
      const slot = key === undefined ? undefined : this.waiting.get(key);
      if (!slot) return false;
      const replaced = merge(slot.msg, msg);
      if (replaced > 0) {
        this.conflated += replaced;
        const merged = slot.msg as { conflated?: number };
        merged.conflated = (merged.conflated ?? 0) + replaced;
      }
      return true;
    }
    const slot: Slot = { msg, key };
    this.queue.push(slot);
    if (key !== undefined) this.waiting.set(key, slot);
    return true;
  }

  shift(): LiveMessage | undefined {
    if (this.head >= this.queue.length) return undefined;
    const slot = this.queue[this.head];
    this.queue[this.head++] = undefined;
    // Compact once the taken half dominates, so the array does not grow with the session's lifetime.
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    if (!slot) return undefined;
    if (slot.key !== undefined && this.waiting.get(slot.key) === slot) this.waiting.delete(slot.key);
    return slot.msg;
  }

  clear(): void {
    this.queue.length = 0;
    this.head = 0;
    this.waiting.clear();
  }
}

/** Merges next into into (same type, subscription and device); answers how many values were replaced. */
function merge(into: LiveMessage, next: LiveMessage): number {
  if (into.type === 'telemetry' && next.type === 'telemetry') {
    let replaced = 0;
    for (const [k, v] of Object.entries(next.values)) {
      const old = into.values[k];
      if (old === undefined) into.values[k] = v;
      else {
        replaced++;
        // The latest value is the one with the greatest ts, as the store's latest (a device may send out of order).
        if (v.ts >= old.ts) into.values[k] = v;
      }
    }
    return replaced;
  }
  if (into.type === 'attributes' && next.type === 'attributes') {
    let replaced = 0;
    for (const [k, v] of Object.entries(next.updated)) {
      const wasDeleted = into.deleted.indexOf(k);
      if (wasDeleted >= 0) into.deleted.splice(wasDeleted, 1);
      if (k in into.updated || wasDeleted >= 0) replaced++;
      into.updated[k] = v;
    }
    for (const k of next.deleted) {
      if (k in into.updated) {
        replaced++;
        const { [k]: _gone, ...rest } = into.updated;
        into.updated = rest;
      }
      if (!into.deleted.includes(k)) into.deleted.push(k);
    }
    into.version = Math.max(into.version, next.version);
    return replaced;
  }
  if (into.type === 'connectivity' && next.type === 'connectivity') {
    const { conflated: _, ...state } = next;
    Object.assign(into, state);
    return 1;
  }
  // Conflation keys name the message type, so this is a bug of the caller.
  throw new Error(`cannot merge ${next.type} into ${into.type}`);
}
