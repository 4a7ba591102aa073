import Database from 'better-sqlite3';
import type { MessageProperties } from '../../message';
import type { BrokerPersistence, LoadedState, StoredMessage, StoredOutgoing, StoredSession, StoredSessionState } from '../persistence';

export interface SqlitePersistenceOptions {
  /** Database file; ':memory:' for a throw-away database. */
  path: string;
}

interface StoredProperties extends Omit<MessageProperties, 'correlationData'> {
  correlationData?: string;
}

interface MessageMeta extends Omit<StoredMessage, 'payload' | 'properties'> {
  properties?: StoredProperties;
}

interface OutgoingMeta extends Omit<StoredOutgoing, 'message'> {
  message: MessageMeta;
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

/** SQLite persistence (better-sqlite3, WAL): persistent sessions and retained messages survive a restart. */
export class SqlitePersistence implements BrokerPersistence {
  private readonly db: Database.Database;
  private readonly stmt;

  constructor(options: SqlitePersistenceOptions) {
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS broker_sessions (client_id TEXT PRIMARY KEY, state TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS broker_outgoing (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, client_id TEXT NOT NULL, meta TEXT NOT NULL, payload BLOB NOT NULL);
      CREATE INDEX IF NOT EXISTS broker_outgoing_by_client ON broker_outgoing (client_id, seq);
      CREATE TABLE IF NOT EXISTS broker_retained (topic TEXT PRIMARY KEY, meta TEXT NOT NULL, payload BLOB NOT NULL);
    `);
    this.stmt = {
      sessions: this.db.prepare<[], { client_id: string; state: string }>('SELECT client_id, state FROM broker_sessions'),
      outgoing: this.db.prepare<[], { client_id: string; meta: string; payload: Buffer }>('SELECT client_id, meta, payload FROM broker_outgoing ORDER BY seq'),
      retained: this.db.prepare<[], { meta: string; payload: Buffer }>('SELECT meta, payload FROM broker_retained'),
      saveSession: this.db.prepare<[string, string]>(
        'INSERT INTO broker_sessions (client_id, state) VALUES (?, ?) ON CONFLICT (client_id) DO UPDATE SET state = excluded.state',
      ),
      deleteSession: this.db.prepare<[string]>('DELETE FROM broker_sessions WHERE client_id = ?'),
      deleteOutgoing: this.db.prepare<[string]>('DELETE FROM broker_outgoing WHERE client_id = ?'),
      appendOutgoing: this.db.prepare<[string, string, Buffer]>('INSERT INTO broker_outgoing (client_id, meta, payload) VALUES (?, ?, ?)'),
      setRetained: this.db.prepare<[string, string, Buffer]>(
        'INSERT INTO broker_retained (topic, meta, payload) VALUES (?, ?, ?) ON CONFLICT (topic) DO UPDATE SET meta = excluded.meta, payload = excluded.payload',
      ),
      deleteRetained: this.db.prepare<[string]>('DELETE FROM broker_retained WHERE topic = ?'),
    };
  }

  load(): LoadedState {
    const sessions = new Map<string, StoredSession>();
    for (const row of this.stmt.sessions.all()) {
      const state = JSON.parse(row.state) as StoredSessionState;
      sessions.set(row.client_id, { ...state, outgoing: [] });
    }
    for (const row of this.stmt.outgoing.all()) {
      const meta = JSON.parse(row.meta) as OutgoingMeta;
      sessions.get(row.client_id)?.outgoing.push({ ...meta, message: fromMeta(meta.message, row.payload) });
    }
    const retained = this.stmt.retained.all().map((row) => fromMeta(JSON.parse(row.meta) as MessageMeta, row.payload));
    return { sessions: [...sessions.values()], retained };
  }

  saveSession(session: StoredSessionState): void {
    this.stmt.saveSession.run(session.clientId, JSON.stringify(session));
  }

  deleteSession(clientId: string): void {
    this.db.transaction(() => {
      this.stmt.deleteSession.run(clientId);
      this.stmt.deleteOutgoing.run(clientId);
    })();
  }

  appendOutgoing(clientId: string, item: StoredOutgoing): void {
    this.stmt.appendOutgoing.run(clientId, JSON.stringify({ ...item, message: messageMeta(item.message) }), item.message.payload);
  }

  replaceOutgoing(clientId: string, items: StoredOutgoing[]): void {
    this.db.transaction(() => {
      this.stmt.deleteOutgoing.run(clientId);
      for (const item of items) this.appendOutgoing(clientId, item);
    })();
  }

  setRetained(message: StoredMessage): void {
    this.stmt.setRetained.run(message.topic, JSON.stringify(messageMeta(message)), message.payload);
  }

  deleteRetained(topic: string): void {
    this.stmt.deleteRetained.run(topic);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
