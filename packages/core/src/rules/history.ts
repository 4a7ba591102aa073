import type { TelemetryStore, TelemetryValue } from '../telemetry/model';

/** One stored message as the rules see it: every value a device sent with one timestamp. */
export interface HistoricMessage {
  ts: number;
  values: Record<string, TelemetryValue>;
}

/**
 * A device's stored telemetry of `keys` in [from, to), in time order, values of one ts joined into one message.
 * Reads pages of `pageSize` points per key.
 */
export async function* storedMessages(
  store: TelemetryStore,
  deviceId: string,
  keys: readonly string[],
  from: number,
  to: number,
  pageSize = 10_000,
): AsyncGenerator<HistoricMessage> {
  let start = from;
  while (start < to && keys.length > 0) {
    const page = await store.query({ deviceId, keys, from: start, to, limit: pageSize, order: 'asc' });
    let cutoff = to;
    for (const k of keys) {
      const pts = page[k] ?? [];
      const last = pts[pts.length - 1];
      if (pts.length >= pageSize && last) cutoff = Math.min(cutoff, last.ts + 1);
    }
    // Every key is complete up to the earliest last point of a full page (the others returned all they have).
    const byTs = new Map<number, Record<string, TelemetryValue>>();
    for (const k of keys) {
      for (const p of page[k] ?? []) {
        if (p.ts >= cutoff) break;
        let m = byTs.get(p.ts);
        if (!m) byTs.set(p.ts, (m = {}));
        m[k] = p.value;
      }
    }
    for (const ts of [...byTs.keys()].sort((a, b) => a - b)) yield { ts, values: byTs.get(ts) ?? {} };
    if (cutoff >= to) return;
    start = cutoff;
  }
}
