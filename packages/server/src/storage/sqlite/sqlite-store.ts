import type { Store } from '@thingstead/core';
import { alarmRepo } from './alarms';
import { attributeRepo } from './attributes';
import { apiKeyRepo, refreshTokenRepo, tenantRepo, userRepo } from './accounts';
import { openDatabase, type SqliteOptions } from './database';
import { deviceRepo, profileRepo } from './devices';
import { notificationRepo } from './notifications';
import { rpcRepo } from './rpcs';
import { ruleRepo } from './rules';
import { telemetryStore } from './telemetry';

/** The embedded storage adapter: one SQLite file in WAL mode and the telemetry log beside it (DESIGN.md invariant 4). */
export function createSqliteStore(o: SqliteOptions): Store {
  const db = openDatabase(o);
  // The telemetry write-ahead log sits beside the database file (none for ':memory:').
  const telemetry = telemetryStore(db, {
    ...o.telemetry,
    walDir: o.path === ':memory:' ? undefined : `${o.path}-tslog`,
    sync: o.synchronous === 'full',
    onError: o.onError,
  });
  return {
    tenants: tenantRepo(db, () => {
      telemetry.forget();
    }),
    users: userRepo(db),
    apiKeys: apiKeyRepo(db),
    refreshTokens: refreshTokenRepo(db),
    profiles: profileRepo(db),
    devices: deviceRepo(db, (id) => {
      telemetry.forget(id);
    }),
    telemetry,
    attributes: attributeRepo(db),
    rpcs: rpcRepo(db),
    rules: ruleRepo(db),
    alarms: alarmRepo(db),
    notifications: notificationRepo(db),
    ping: async () => {
      // Writable: the write lock can be taken (a read-only or locked file fails here), and telemetry is not stuck.
      if (db.readonly) throw new Error('the database is open read-only');
      if (!db.inTransaction) {
        db.exec('BEGIN IMMEDIATE');
        db.exec('ROLLBACK');
      }
      const problem = telemetry.problem();
      if (problem !== undefined) throw new Error(problem);
    },
    close: async () => {
      if (db.open) {
        await telemetry.close();
        // Fold the WAL back into the main file so the data dir is one self-contained file at rest.
        db.pragma('wal_checkpoint(TRUNCATE)');
        db.close();
      }
    },
  };
}
