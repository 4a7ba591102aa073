import { createEwmaAnalyser } from './ewma';
import type { AnalyticSpec } from './spec';
import { createWindowAnalyser } from './window-analysers';

export { analyticTypes, validateAnalyticSpec, warmupMs, type AnalyticSpec } from './spec';

/** One stream analyser: fed the points of one (rule, device, key), in bounded memory whatever their rate. */
export interface Analyser {
  readonly spec: AnalyticSpec;
  /**
   * Feeds one point; points arrive in ts order per analyser. A point older than the newest seen is ignored (a
   * window cannot place it without keeping points, an EWMA cannot take it back), as is a point whose ts or value is
   * not a finite number. Points with the newest ts are taken.
   */
  update(ts: number, value: number): void;
  /**
   * The current output at time `now` (window content older than now - windowMs excluded, at bucket grain), null
   * when undefined (no data, < 2 points for a line, stddev 0...). EWMA outputs do not depend on `now`.
   */
  value(now: number): number | null;
  snapshot(): AnalyserSnapshot;
}

/** JSON-serialisable and small: a window's state is its 60 buckets (under 4 KB); an EWMA's a few numbers. */
export type AnalyserSnapshot = { v: 1; type: AnalyticSpec['type']; state: unknown };

/**
 * An analyser for `spec`, resumed from `snapshot` when it is one of this version and type made with the same
 * window or half-life (and window fn); any other snapshot is ignored and the analyser starts empty.
 */
export function createAnalyser(spec: AnalyticSpec, snapshot?: AnalyserSnapshot): Analyser {
  // A snapshot comes back from storage: whatever its declared type, check it as unknown data.
  const stored: unknown = snapshot;
  const s = typeof stored === 'object' && stored !== null ? (stored as Record<string, unknown>) : {};
  const state = s['v'] === 1 && s['type'] === spec.type ? s['state'] : undefined;
  const inner = spec.type === 'ewma' || spec.type === 'ewma-anomaly' ? createEwmaAnalyser(spec, state) : createWindowAnalyser(spec, state);
  return {
    spec,
    update: (ts, value) => {
      inner.update(ts, value);
    },
    value: (now) => inner.value(now),
    snapshot: () => ({ v: 1, type: spec.type, state: inner.state() }),
  };
}
