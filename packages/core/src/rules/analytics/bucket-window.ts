import { decodeFloats, encodeFloats } from './float-codec';
import { addPoint, emptyMoments, mergeInto, resetMoments, type MomentField, type Moments } from './moments';

/** Buckets per window: memory is this many summaries whatever the data rate; results are exact at this grain. */
export const bucketsPerWindow = 60;

/** Re-base t once the origin is this many windows old, so t - origin stays a few windows at most. */
const rebaseAfterWindows = 4;

/**
 * A sliding time window as a ring of `bucketsPerWindow` buckets, bucket k holding the points with
 * floor(ts * buckets / windowMs) = k. A query at `now` merges the buckets (kNow - buckets, kNow]: the window
 * (now - windowMs, now] rounded to bucket edges. A new bucket clears the one windowMs older in its slot.
 */
export class BucketWindow {
  private readonly slots: { k: number; m: Moments }[] = [];
  private kNewest = -Infinity;
  private newestTs = -Infinity;
  /** What t is measured from in the buckets' moments (ms since the epoch). */
  private origin = 0;
  /**
   * The merge of the window's buckets before the newest, kept while the window's range is the same: a query then
   * merges two summaries instead of 60, with the same operations in the same order (so the same bits).
   */
  private prefix: { lo: number; hi: number; m: Moments } | undefined;

  constructor(readonly windowMs: number) {
    for (let i = 0; i < bucketsPerWindow; i++) this.slots.push({ k: -Infinity, m: emptyMoments() });
  }

  private bucketOf(ts: number): number {
    return Math.floor((ts * bucketsPerWindow) / this.windowMs);
  }

  private slot(k: number): { k: number; m: Moments } {
    const slot = this.slots[((k % bucketsPerWindow) + bucketsPerWindow) % bucketsPerWindow];
    if (slot === undefined) throw new Error('unreachable: a slot index is within the ring');
    return slot;
  }

  /** Adds a point; a point older than the newest one seen, or not finite, is ignored (answers false). */
  add(ts: number, x: number): boolean {
    if (!Number.isFinite(ts) || !Number.isFinite(x) || ts < this.newestTs) return false;
    const k = this.bucketOf(ts);
    if (k > this.kNewest) {
      for (let j = Math.max(this.kNewest + 1, k - bucketsPerWindow + 1); j <= k; j++) {
        const slot = this.slot(j);
        slot.k = j;
        resetMoments(slot.m);
      }
      this.kNewest = k;
    }
    if (this.newestTs === -Infinity) this.origin = Math.floor(ts);
    else if (ts - this.origin > rebaseAfterWindows * this.windowMs) this.rebase(Math.floor(ts));
    this.newestTs = ts;
    addPoint(this.slot(k).m, ts - this.origin, x);
    return true;
  }

  private rebase(origin: number): void {
    this.prefix = undefined;
    const shift = origin - this.origin;
    for (const slot of this.slots) if (slot.m.n > 0) slot.m.mt -= shift;
    this.origin = origin;
  }

  /** The merged moments of the window at `now`; their t is relative to `timeOrigin`. */
  summary(now: number): Moments {
    const out = emptyMoments();
    const kNow = this.bucketOf(now);
    if (!Number.isFinite(kNow) || this.kNewest === -Infinity) return out;
    const lo = Math.max(kNow, this.kNewest) - bucketsPerWindow + 1;
    const hi = Math.min(kNow, this.kNewest);
    if (hi !== this.kNewest || lo > hi) return this.fold(out, lo, hi);
    // Only the newest bucket takes points (older ones are ignored), so the buckets before it stay as they were.
    if (this.prefix?.lo !== lo || this.prefix.hi !== hi) this.prefix = { lo, hi, m: this.fold(emptyMoments(), lo, hi - 1) };
    mergeInto(out, this.prefix.m);
    const newest = this.slot(hi);
    if (newest.k === hi) mergeInto(out, newest.m);
    return out;
  }

  private fold(out: Moments, lo: number, hi: number): Moments {
    for (let j = lo; j <= hi; j++) {
      const slot = this.slot(j);
      if (slot.k === j) mergeInto(out, slot.m);
    }
    return out;
  }

  get timeOrigin(): number {
    return this.origin;
  }

  /**
   * The state as doubles: the newest bucket and timestamp, the origin, then for each bucket from the oldest the
   * given moment fields (an expired or empty bucket as n = 0). Constant size whatever was fed.
   */
  snapshot(fields: readonly MomentField[]): { windowMs: number; fields: string; data: string } {
    const values = [this.kNewest, this.newestTs, this.origin];
    for (let i = 0; i < bucketsPerWindow; i++) {
      const j = this.kNewest - bucketsPerWindow + 1 + i;
      const live = Number.isFinite(j) && this.slot(j).k === j ? this.slot(j).m : undefined;
      for (const f of fields) values.push(live === undefined || live.n === 0 ? 0 : live[f]);
    }
    return { windowMs: this.windowMs, fields: fields.join(','), data: encodeFloats(values) };
  }

  /** Restores a `snapshot` made with the same window and fields; false (nothing changed) for any other state. */
  restore(state: unknown, fields: readonly MomentField[]): boolean {
    if (typeof state !== 'object' || state === null) return false;
    const s = state as Record<string, unknown>;
    if (s['windowMs'] !== this.windowMs || s['fields'] !== fields.join(',')) return false;
    const values = decodeFloats(s['data'], 3 + bucketsPerWindow * fields.length);
    if (values === undefined) return false;
    const [kNewest = -Infinity, newestTs = -Infinity, origin = 0] = values;
    if (!Number.isFinite(origin) || !(kNewest === -Infinity || Number.isInteger(kNewest))) return false;
    this.kNewest = kNewest;
    this.newestTs = newestTs;
    this.origin = origin;
    this.prefix = undefined;
    for (let i = 0; i < bucketsPerWindow; i++) {
      const j = kNewest - bucketsPerWindow + 1 + i;
      const m = emptyMoments();
      fields.forEach((f, fi) => (m[f] = values[3 + i * fields.length + fi] ?? 0));
      if (!Number.isFinite(j) || m.n === 0) continue;
      const slot = this.slot(j);
      slot.k = j;
      slot.m = m;
    }
    return true;
  }
}
