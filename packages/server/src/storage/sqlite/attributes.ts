import type { AttributeMap, AttributeRepo, AttributeScope, AttributeState, AttributeValue, AttributeWrite, AttributeWriteResult } from '@thingstead/core';
import type { Db } from './database';

/** A write refused after some of its statements ran: thrown to roll the transaction back, then answered. */
class Refused extends Error {
  constructor(readonly result: AttributeWriteResult) {
    super(`attribute write refused: ${result.status}`);
  }
}

/**
 * The attribute repository: each write is one SQLite transaction holding the version check, the change, the
 * limit checks on the result and the version increment, so no check can be overtaken by another write.
 */
export function attributeRepo(db: Db): AttributeRepo {
  const seqOf = db.prepare('SELECT seq FROM devices WHERE id = ?');
  const versionOf = db.prepare('SELECT version FROM attribute_versions WHERE device_seq = ?');
  const remove = db.prepare('DELETE FROM attributes WHERE device_seq = ? AND scope = ? AND key = ?');
  const upsert = db.prepare(`INSERT INTO attributes (device_seq, scope, key, value, updated_at) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (device_seq, scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`);
  const keyCount = db.prepare('SELECT COUNT(*) AS n FROM attributes WHERE device_seq = ?');
  // The size measure of core's attributeBytes: UTF-8 bytes of the key and of the value's JSON.
  const scopeBytes = db.prepare(
    'SELECT COALESCE(SUM(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) AS n FROM attributes WHERE device_seq = ? AND scope = ?',
  );
  const setVersion = db.prepare(`INSERT INTO attribute_versions (device_seq, version) VALUES (?, ?)
    ON CONFLICT (device_seq) DO UPDATE SET version = excluded.version`);
  const rowsOf = db.prepare('SELECT scope, key, value, updated_at FROM attributes WHERE device_seq = ?');

  const write = db.transaction((w: AttributeWrite): AttributeWriteResult => {
    const device = seqOf.get(w.deviceId) as { seq: number } | undefined;
    if (!device) return { status: 'unknown-device' };
    const seq = device.seq;
    const version = (versionOf.get(seq) as { version: number } | undefined)?.version ?? 0;
    if (w.expectedVersion !== undefined && w.expectedVersion !== version) return { status: 'version-mismatch', version };
    const deleted = w.delete.filter((k) => remove.run(seq, w.scope, k).changes > 0);
    const set = Object.entries(w.set);
    for (const [k, v] of set) upsert.run(seq, w.scope, k, JSON.stringify(v), w.at);
    if (deleted.length === 0 && set.length === 0) return { status: 'written', version, changed: false, deleted };
    const keys = (keyCount.get(seq) as { n: number }).n;
    if (keys > w.limits.maxKeysPerDevice) throw new Refused({ status: 'too-many-keys', keys });
    const bytes = (scopeBytes.get(seq, w.scope) as { n: number }).n;
    if (bytes > w.limits.maxScopeBytes) throw new Refused({ status: 'too-large', bytes });
    setVersion.run(seq, version + 1);
    return { status: 'written', version: version + 1, changed: true, deleted };
  });

  const read = db.transaction((deviceId: string): AttributeState => {
    const device = seqOf.get(deviceId) as { seq: number } | undefined;
    if (!device) return { version: 0, client: {}, server: {}, shared: {} };
    const version = (versionOf.get(device.seq) as { version: number } | undefined)?.version ?? 0;
    const rows = rowsOf.all(device.seq) as { scope: AttributeScope; key: string; value: string; updated_at: number }[];
    // fromEntries defines own properties, so a key such as "__proto__" is read back as a key.
    const scope = (s: AttributeScope): AttributeMap =>
      Object.fromEntries(rows.filter((r) => r.scope === s).map((r) => [r.key, { value: JSON.parse(r.value) as AttributeValue, updatedAt: r.updated_at }]));
    return { version, client: scope('client'), server: scope('server'), shared: scope('shared') };
  });

  return {
    read: async (deviceId) => read(deviceId),
    write: async (w) => {
      try {
        return write(w);
      } catch (e) {
        if (e instanceof Refused) return e.result;
        throw e;
      }
    },
  };
}
