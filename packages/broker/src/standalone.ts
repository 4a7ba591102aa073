import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAcl, type Acl } from './acl';
import { Broker } from './broker';
import { listenTcp } from './listeners';
import type { AuthResult, BrokerHooks, BrokerLimits } from './options';
import { parsePasswordFile, type PasswordFile } from './password-file';
import { MemoryPersistence } from './persistence/memory/memory-persistence';
import { SqlitePersistence } from './persistence/sqlite/sqlite-persistence';
import { ReasonCode } from './reason-codes';

export interface StandaloneOptions {
  port: number;
  host?: string;
  /** Accept clients without a username (Mosquitto's allow_anonymous); default false. */
  allowAnonymous?: boolean;
  /** Mosquitto acl_file; without one every client may publish and subscribe anywhere. */
  aclFile?: string;
  /** Mosquitto password_file (mosquitto_passwd); without one, only anonymous clients can connect. */
  passwordFile?: string;
  /** Directory for broker.db (SQLite); without one, sessions and retained messages live in memory. */
  dataDir?: string;
  limits?: Partial<BrokerLimits>;
  log?: (line: string) => void;
}

export interface StandaloneBroker {
  broker: Broker;
  port: number;
  close(): Promise<void>;
}

function authenticator(options: StandaloneOptions, passwords: PasswordFile | undefined) {
  return (request: { username?: string; password?: Buffer }): AuthResult => {
    if (request.username === undefined) {
      return options.allowAnonymous === true ? { ok: true } : { ok: false, reasonCode: ReasonCode.NotAuthorized, reasonString: 'anonymous access is disabled' };
    }
    // Sessions belong to the user: another user with the same client id neither resumes nor takes them over.
    if (passwords?.verify(request.username, request.password) === true) return { ok: true, namespace: `user:${request.username}` };
    return { ok: false, reasonCode: ReasonCode.BadUserNameOrPassword, reasonString: 'bad user name or password' };
  };
}

/** The broker alone, Mosquitto-style: `thingstead broker --port <p> [--allow-anonymous] [--acl <file>]`. */
export async function startStandaloneBroker(options: StandaloneOptions): Promise<StandaloneBroker> {
  const log = options.log ?? (() => undefined);
  const acl: Acl | undefined = options.aclFile === undefined ? undefined : parseAcl(readFileSync(options.aclFile, 'utf8'));
  const passwords = options.passwordFile === undefined ? undefined : parsePasswordFile(readFileSync(options.passwordFile, 'utf8'));
  let persistence;
  if (options.dataDir === undefined) {
    persistence = new MemoryPersistence();
  } else {
    // Owner-only, like the platform's data directory: it holds every retained and queued payload.
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    persistence = new SqlitePersistence({ path: join(options.dataDir, 'broker.db') });
  }
  const hooks: BrokerHooks = { authenticate: authenticator(options, passwords) };
  if (acl !== undefined) {
    hooks.authorizePublish = (client, packet) => acl.canPublish(client.username, client.id, packet.topic);
    hooks.authorizeSubscribe = (client, sub) => acl.canSubscribe(client.username, client.id, sub.topic);
  }
  const broker = new Broker({ persistence, hooks, ...(options.limits === undefined ? {} : { limits: options.limits }) });
  broker.on('client', (c) => {
    log(
      `client connected: ${c.id} (${c.username ?? 'anonymous'}, MQTT ${c.protocolVersion === 5 ? '5.0' : c.protocolVersion === 4 ? '3.1.1' : '3.1'}) from ${c.remoteAddress ?? '?'}`,
    );
  });
  broker.on('clientDisconnect', (c, reason) => {
    log(`client disconnected: ${c.id} (0x${reason.reasonCode.toString(16).padStart(2, '0')} ${reason.message})`);
  });
  broker.on('clientError', (error, c) => {
    log(`client error, connection closed: ${c.id} (${String(error)})`);
  });
  broker.on('persistenceError', (error) => {
    log(`persistence error: ${String(error)}`);
  });
  await broker.ready;
  const listener = await listenTcp(broker, { port: options.port, ...(options.host === undefined ? {} : { host: options.host }) });
  log(`MQTT broker listening on ${options.host ?? '0.0.0.0'}:${listener.port}`);
  return {
    broker,
    port: listener.port,
    async close() {
      const closed = listener.close();
      await broker.close();
      await closed;
    },
  };
}
