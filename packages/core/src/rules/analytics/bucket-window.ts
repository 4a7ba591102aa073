import { decodeFloats, encodeFloats } from './float-codec';
import {
  addPoint,
  copy,
  emptyMoments,
  fieldCount,
  fieldIndex,
  merge,
  packedMoments,
  reset,
  shiftTime,
  unpack,
  type MomentField,
  type Moments,
} from './moments';

/** Buckets per window: memory is this many summaries whatever the data rate; results are exact at this grain. */
export const bucketsPerWindow = 60;

/** Re-base t once the origin is this many windows old, so t - origin stays a few windows at most. */
const rebaseAfterWindows = 4;

const F = fieldCount;

function blockOf(k: number): number {
  return Math.floor(k / bucketsPerWindow);
}

/**
 * A sliding time window as a ring of `bucketsPerWindow` buckets, bucket k holding the points with
 * floor(ts * buckets / windowMs) = k. A query at `now` merges the buckets (kNow - buckets, kNow]: the window
 * (now - windowMs, now] rounded to bucket edges. A new bucket clears the one windowMs older in its slot.
 *
 * Only the newest bucket takes points (an older point is ignored), so the others never change, and a query merges
 * three summaries, not 60. The buckets are grouped in blocks of `bucketsPerWindow` (block b: buckets 60b..60b+59),
 * so a window spans the end of the previous block and the start of the newest bucket's block. The previous block's
 * suffix merges (bucket j merged with every later bucket of its block) are made once, when it is complete; the
 * newest block's merge of its completed buckets grows by one bucket as each completes. A query is then the suffix
 * at the window's first bucket, that merge, and the newest bucket: each bucket is merged about twice over its life.
 * With a point every 10 s into a 5-minute window (every point a new bucket), merging the 59 older buckets at each
 * query cost 6 µs. What a query answers depends on the buckets and `now` alone, not on earlier queries: a
 * restored window answers with the same bits as the one snapshotted.
 */
export class BucketWindow {
  /** Per slot: the bucket it holds (k), or -Infinity. */
  private readonly ks = new Float64Array(bucketsPerWindow).fill(-Infinity);
  /** Per slot: the bucket's summary. */
  private readonly buckets = packedMoments(bucketsPerWindow);
  /** Per slot of a bucket j of block `suffixBlock`: the merge of buckets j..the block's last. */
  private readonly suffix = packedMoments(bucketsPerWindow);
  private suffixBlock = NaN;
  /** The merge of the completed buckets of block `headBlock` (those before the newest). */
  private readonly head = packedMoments(1);
  private headBlock = NaN;
  private readonly acc = packedMoments(1);
  private kNewest = -Infinity;
  private newestTs = -Infinity;
  /** What t is measured from in the buckets' moments (ms since the epoch). */
  private origin = 0;
  /** What summary() answers in: overwritten by the next call. */
  private readonly out = emptyMoments();

  constructor(readonly windowMs: number) {}

  private bucketOf(ts: number): number {
    return Math.floor((ts * bucketsPerWindow) / this.windowMs);
  }

  private slotOf(k: number): number {
    return ((k % bucketsPerWindow) + bucketsPerWindow) % bucketsPerWindow;
  }

  /** Adds a point; a point older than the newest one seen, or not finite, is ignored (answers false). */
  add(ts: number, x: number): boolean {
    if (!Number.isFinite(ts) || !Number.isFinite(x) || ts < this.newestTs) return false;
    const k = this.bucketOf(ts);
    if (k > this.kNewest) {
      const block = blockOf(k);
      if (this.headBlock === block) {
        // The newest bucket is complete: it joins its block's merge.
        merge(this.head, 0, this.buckets, this.slotOf(this.kNewest) * F);
      } else if (this.kNewest < block * bucketsPerWindow) {
        // A new block: every bucket of it before k is empty (cleared below).
        reset(this.head, 0);
        this.headBlock = block;
      } else this.headBlock = NaN; // not kept (a rebase or a restore since): the next query folds it
      for (let j = Math.max(this.kNewest + 1, k - bucketsPerWindow + 1); j <= k; j++) {
        const s = this.slotOf(j);
        this.ks[s] = j;
        reset(this.buckets, s * F);
      }
      this.kNewest = k;
    }
    if (this.newestTs === -Infinity) this.origin = Math.floor(ts);
    else if (ts - this.origin > rebaseAfterWindows * this.windowMs) this.rebase(Math.floor(ts));
    this.newestTs = ts;
    addPoint(this.buckets, this.slotOf(k) * F, ts - this.origin, x);
    return true;
  }

  private rebase(origin: number): void {
    const shift = origin - this.origin;
    for (let s = 0; s < bucketsPerWindow; s++) shiftTime(this.buckets, s * F, shift);
    this.origin = origin;
    // The merges are remade from the shifted buckets when next needed.
    this.suffixBlock = NaN;
    this.headBlock = NaN;
  }

  /**
   * The merged moments of the window at `now`; their t is relative to `timeOrigin`. The object is the window's
   * own, overwritten by the next call: read it before then.
   */
  summary(now: number): Moments {
    const acc = this.acc;
    reset(acc, 0);
    const kNow = this.bucketOf(now);
    if (!Number.isFinite(kNow) || this.kNewest === -Infinity) return unpack(acc, 0, this.out);
    const lo = Math.max(kNow, this.kNewest) - bucketsPerWindow + 1;
    const hi = Math.min(kNow, this.kNewest);
    const block = blockOf(hi);
    if (hi !== this.kNewest || blockOf(lo) !== block - 1) {
      // A time before the newest bucket, or after it (the window starts inside the newest block, or past the
      // newest bucket): merged bucket by bucket, in the same order.
      this.fold(acc, lo, hi);
      return unpack(acc, 0, this.out);
    }
    if (this.suffixBlock !== block - 1) this.makeSuffix(block - 1);
    if (this.headBlock !== block) {
      reset(this.head, 0);
      this.fold(this.head, block * bucketsPerWindow, hi - 1);
      this.headBlock = block;
    }
    copy(acc, 0, this.suffix, this.slotOf(lo) * F);
    merge(acc, 0, this.head, 0);
    this.mergeBucket(acc, hi);
    return unpack(acc, 0, this.out);
  }

  /** The suffix merges of block b, from its last bucket back. */
  private makeSuffix(b: number): void {
    let later = -1;
    for (let j = (b + 1) * bucketsPerWindow - 1; j >= b * bucketsPerWindow; j--) {
      const slot = this.slotOf(j);
      const o = slot * F;
      if (this.ks[slot] === j) copy(this.suffix, o, this.buckets, o);
      else reset(this.suffix, o);
      if (later >= 0) {
        // suffix(j) = bucket j then suffix(j + 1): the later points are merged into the earlier ones.
        merge(this.suffix, o, this.suffix, later);
      }
      later = o;
    }
    this.suffixBlock = b;
  }

  /** Merges buckets lo..hi into acc, oldest first. */
  private fold(acc: Float64Array, lo: number, hi: number): void {
    for (let j = lo; j <= hi; j++) this.mergeBucket(acc, j);
  }

  private mergeBucket(acc: Float64Array, j: number): void {
    const s = this.slotOf(j);
    if (this.ks[s] === j) merge(acc, 0, this.buckets, s * F);
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
      const s = Number.isFinite(j) ? this.slotOf(j) : -1;
      const live = s >= 0 && this.ks[s] === j && (this.buckets[s * F] as number) > 0;
      for (const f of fields) values.push(live ? (this.buckets[s * F + fieldIndex[f]] as number) : 0);
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
    this.ks.fill(-Infinity);
    for (let i = 0; i < bucketsPerWindow; i++) {
      const j = kNewest - bucketsPerWindow + 1 + i;
      if (!Number.isFinite(j)) continue;
      const slot = this.slotOf(j);
      const o = slot * F;
      reset(this.buckets, o);
      this.ks[slot] = j;
      fields.forEach((f, fi) => (this.buckets[o + fieldIndex[f]] = values[3 + i * fields.length + fi] ?? 0));
      // A bucket restored with n = 0 is empty: its other fields go back to the empty values merges expect.
      if ((this.buckets[o] as number) === 0) reset(this.buckets, o);
    }
    this.suffixBlock = NaN;
    this.headBlock = NaN;
    return true;
  }
}
