import Database from 'better-sqlite3';
import { closeSync, fchmodSync, openSync } from 'node:fs';
import type { MessageProperties } from '../../message';
import type { BrokerPersistence, LoadedState, PersistenceOp, StoredMessage, StoredOutgoing, StoredSession, StoredSessionState } from '../persistence';

export interface SqlitePersistenceOptions {
  /** Database file; ':memory:' for a throw-away database. */
  path: string;
  /** SQLite synchronous mode; default NORMAL. */
  synchronous?: 'NORMAL' | 'FULL';
}

interface StoredProperties extends Omit<MessageProperties, 'correlationData'> {
  correlationData?: string;
}

interface MessageMeta extends Omit<StoredMessage, 'payload' | 'properties'> {
  properties?: StoredProperties;
}

interface OutgoingMeta extends Omit<StoredOutgoing, 'message' | 'seq'> {
  message: MessageMeta;
}

interface StoredSessionMeta extends Omit<StoredSessionState, 'will'> {
  will?: { delaySec: number; message: MessageMeta; payload: string };
}

// Binary Correlation Data is kept as base64 inside the JSON metadata.
function messageMeta(m: StoredMessage): MessageMeta {
  const { payload: _payload, properties, ...rest } = m;
  if (properties === undefined) return rest;
  const { correlationData, ...props } = properties;
  return { ...rest, properties: correlationData === undefined ? props : { ...props, correlationData: correlationData.toString('base64') } };
}

function fromMeta(meta: MessageMeta, payload: Buffer): StoredMessage {
  const { properties, ...rest } = meta;
  if (properties === undefined) return { ...rest, payload };
  const { correlationData, ...props } = properties;
  return { ...rest, payload, properties: correlationData === undefined ? props : { ...props, correlationData: Buffer.from(correlationData, 'base64') } };
}

/**
 * A new database file is created owner-only (0600, whatever the umask): it holds every queued payload. SQLite
 * gives its -wal and -shm files the mode of the database file. An existing file is left as it is.
 */
function createOwnerOnly(path: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw e;
  }
  try {
    fchmodSync(fd, 0o600);
  } finally {
    closeSync(fd);
  }
}

/**
 * The layout below, recorded in PRAGMA user_version. A later layout bumps it and migrates forward; a file with a
 * higher number was written by a newer version and is refused before anything in it changes.
 */
export const brokerSchemaVersion = 1;

/** A broker.db written by a newer version: refused with the file unchanged. */
export class PersistenceVersionError extends Error {
  constructor(path: string, found: number) {
    super(
      `${path} has broker schema version ${found}, newer than this version's (${brokerSchemaVersion}): it was written by a later version. Run that version (or a later one); the file was not changed.`,
    );
  }
}

/** SQLite persistence (better-sqlite3, WAL): persistent sessions and retained messages survive a restart. */
export class SqlitePersistence implements BrokerPersistence {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly applyAll: (ops: readonly PersistenceOp[]) => void;

  constructor(options: SqlitePersistenceOptions) {
    if (options.path !== ':memory:') createOwnerOnly(options.path);
    this.db = new Database(options.path);
    const found = this.db.pragma('user_version', { simple: true }) as number;
    if (found > brokerSchemaVersion) {
      this.db.close();
      throw new PersistenceVersionError(options.path, found);
    }
    this.db.pragma('journal_mode = WAL');
    // NORMAL: a committed batch survives a crash of the process (kill -9); FULL also survives power loss.
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS broker_sessions (client_id TEXT PRIMARY KEY, state TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS broker_outgoing (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, meta TEXT NOT NULL, payload BLOB NOT NULL);
      CREATE INDEX IF NOT EXISTS broker_outgoing_by_client ON broker_outgoing (client_id, seq);
      CREATE TABLE IF NOT EXISTS broker_retained (topic TEXT PRIMARY KEY, meta TEXT NOT NULL, payload BLOB NOT NULL);
    `);
    // Files of before the version was recorded (0) have this same layout.
    if (found < brokerSchemaVersion) this.db.pragma(`user_version = ${brokerSchemaVersion}`);
    // client_id holds the broker's session key (namespace + client id).
    this.stmt = {
      sessions: this.db.prepare<[], { client_id: string; state: string }>('SELECT client_id, state FROM broker_sessions'),
      outgoing: this.db.prepare<[], { seq: number; client_id: string; meta: string; payload: Buffer }>(
        'SELECT seq, client_id, meta, payload FROM broker_outgoing ORDER BY seq',
      ),
      retained: this.db.prepare<[], { topic: string; meta: string; payload: Buffer }>('SELECT topic, meta, payload FROM broker_retained'),
      saveSession: this.db.prepare<[string, string]>(
        'INSERT INTO broker_sessions (client_id, state) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET state = excluded.state',
      ),
      deleteSession: this.db.prepare<[string]>('DELETE FROM broker_sessions WHERE client_id = ?'),
      deleteOutgoingOf: this.db.prepare<[string]>('DELETE FROM broker_outgoing WHERE client_id = ?'),
      putOutgoing: this.db.prepare<[number, string, string, Buffer]>(
        'INSERT OR REPLACE INTO broker_outgoing (seq, client_id, meta, payload) VALUES (?, ?, ?, ?)',
      ),
      setInflight: this.db.prepare<[number, string, number]>("UPDATE broker_outgoing SET meta = json_set(meta, '$.packetId', ?, '$.state', ?) WHERE seq = ?"),
      deleteOutgoing: this.db.prepare<[number]>('DELETE FROM broker_outgoing WHERE seq = ?'),
      setRetained: this.db.prepare<[string, string, Buffer]>(
        'INSERT INTO broker_retained (topic, meta, payload) VALUES (?, ?, ?) ON CONFLICT (topic) DO UPDATE SET meta = excluded.meta, payload = excluded.payload',
      ),
      deleteRetained: this.db.prepare<[string]>('DELETE FROM broker_retained WHERE topic = ?'),
    };
    this.applyAll = this.db.transaction((ops: readonly PersistenceOp[]) => {
      for (const op of ops) this.applyOne(op);
    });
  }

  /** Reads everything back; a row that does not parse is removed and reported (one bad row must not stop the start). */
  load(): LoadedState {
    const unreadable: NonNullable<LoadedState['unreadable']> = [];
    const remove: PersistenceOp[] = [];
    const read = <T>(what: string, f: () => T, op: PersistenceOp): T | undefined => {
      try {
        return f();
      } catch (error) {
        unreadable.push({ what, reason: error instanceof Error ? error.message : String(error) });
        remove.push(op);
        return undefined;
      }
    };
    const sessions = new Map<string, StoredSession>();
    for (const row of this.stmt.sessions.all()) {
      const session = read(
        `session ${row.client_id}`,
        () => {
          const { will, ...rest } = JSON.parse(row.state) as StoredSessionMeta;
          const s: StoredSession = { ...rest, outgoing: [] };
          if (will !== undefined) s.will = { delaySec: will.delaySec, message: fromMeta(will.message, Buffer.from(will.payload, 'base64')) };
          return s;
        },
        { type: 'deleteSession', key: row.client_id },
      );
      if (session !== undefined) sessions.set(row.client_id, session);
    }
    for (const row of this.stmt.outgoing.all()) {
      const session = sessions.get(row.client_id);
      if (session === undefined) {
        // Left behind by a session that is gone.
        remove.push({ type: 'deleteOutgoing', seq: row.seq });
        continue;
      }
      const item = read(
        `a queued message of ${row.client_id}`,
        () => {
          const { seq: _seq, ...meta } = JSON.parse(row.meta) as OutgoingMeta & { seq?: number };
          return { ...meta, seq: row.seq, message: fromMeta(meta.message, row.payload) };
        },
        { type: 'deleteOutgoing', seq: row.seq },
      );
      if (item !== undefined) session.outgoing.push(item);
    }
    const retained: StoredMessage[] = [];
    for (const row of this.stmt.retained.all()) {
      const m = read(`retained message ${row.topic}`, () => fromMeta(JSON.parse(row.meta) as MessageMeta, row.payload), {
        type: 'deleteRetained',
        topic: row.topic,
      });
      if (m !== undefined) retained.push(m);
    }
    if (remove.length > 0) this.applyAll(remove);
    return unreadable.length > 0 ? { sessions: [...sessions.values()], retained, unreadable } : { sessions: [...sessions.values()], retained };
  }

  apply(ops: readonly PersistenceOp[]): void {
    if (ops.length > 0) this.applyAll(ops);
  }

  private applyOne(op: PersistenceOp): void {
    switch (op.type) {
      case 'saveSession': {
        const { will, ...rest } = op.state;
        const meta: StoredSessionMeta =
          will === undefined
            ? rest
            : { ...rest, will: { delaySec: will.delaySec, message: messageMeta(will.message), payload: will.message.payload.toString('base64') } };
        this.stmt.saveSession.run(op.key, JSON.stringify(meta));
        return;
      }
      case 'deleteSession':
        this.stmt.deleteSession.run(op.key);
        this.stmt.deleteOutgoingOf.run(op.key);
        return;
      case 'putOutgoing': {
        const { seq, message, ...rest } = op.item;
        this.stmt.putOutgoing.run(seq, op.key, JSON.stringify({ ...rest, message: messageMeta(message) }), message.payload);
        return;
      }
      case 'setInflight':
        this.stmt.setInflight.run(op.packetId, op.state, op.seq);
        return;
      case 'deleteOutgoing':
        this.stmt.deleteOutgoing.run(op.seq);
        return;
      case 'setRetained':
        this.stmt.setRetained.run(op.message.topic, JSON.stringify(messageMeta(op.message)), op.message.payload);
        return;
      case 'deleteRetained':
        this.stmt.deleteRetained.run(op.topic);
        return;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
