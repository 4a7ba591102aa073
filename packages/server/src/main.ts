import { existsSync } from 'node:fs';
import { ruleTopic } from './transports/mqtt/topics';
import { MemoryPersistence, PersistenceVersionError, SqlitePersistence, type Broker } from '@thingstead/broker';
import { createCore, systemClock, type Clock, type Core, type EventBus, type Store } from '@thingstead/core';
import { join, resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { jwtSigner, loadOrCreateSecret } from './auth/jwt-signer';
import { backupDataDir, BackupError, restoreDataDir, type BackupManifest } from './storage/backup';
import { DataDirInUseError, lockDataDir } from './storage/data-dir-lock';
import { DataVersionError } from './storage/sqlite/database';
import { ensureOwnerOnlyDir } from './storage/owner-only';
import { InProcessBus } from './bus/in-process-bus';
import { fetchPoster } from './notifications/fetch-poster';
import { nodemailerMailer } from './notifications/nodemailer-mailer';
import type { Config } from './config/schema';
import { buildHttpApp, HttpLifecycle } from './transports/http/app';
import { listenHttps, type HttpsListener } from './transports/http/https-listener';
import { CertificateError, ListenerCertificate, reloadCertificates, type CertificateReload } from './transports/tls-certificates';
import { AuthFailureLog, createLogger } from './logging';
import { Metrics } from './metrics';
import { listening, Readiness } from './readiness';
import { listenOps, type OpsListener } from './transports/http/ops-listener';
import { settleWithin, waitUntil } from './shutdown';
import { createSqliteStore } from './storage/sqlite/sqlite-store';
import { startMqttTransport, type MqttTransport } from './transports/mqtt/mqtt-transport';
import { UpgradeRouter } from './transports/upgrade-router';
import { liveApiPath, startLiveApi, type LiveApi } from './transports/ws/live-api';
import { version } from './version';

export interface StartOptions {
  logger?: Logger;
  clock?: Clock;
  /**
   * Where the first start's admin credentials are printed, whatever the log level (a generated password is
   * shown nowhere else). Default: process.stderr.
   */
  console?: { write(text: string): unknown };
}

export interface Thingstead {
  core: Core;
  store: Store;
  /** The event bus core publishes on (subscribers run after commit, off the ack path). */
  bus: EventBus;
  /** The MQTT broker, when MQTT is enabled; a device's topics inside it are deviceTopic() names. */
  broker?: Broker;
  /** Where each listener ended up (the real port when 0 was asked). */
  urls: { http: string; https?: string; mqtt?: string; mqtts?: string; mqttWs?: string; mqttWss?: string; live: string; liveTls?: string; metrics?: string };
  httpPort: number;
  /** The bound HTTPS port, when https.port is set. */
  httpsPort?: number;
  /** Bound MQTT ports, when MQTT is enabled. */
  mqttPorts?: { tcp: number; tls?: number };
  /**
   * Graceful shutdown, bounded by shutdown.drainTimeoutMs (plus up to 1 s for sockets to close): refuses new
   * work, lets what was received be committed and answered, disconnects every client, commits what waits and
   * closes the database. See ARCHITECTURE.md "Shutdown".
   */
  close(): Promise<void>;
  /**
   * Re-reads the certificate and key files of the HTTPS and MQTT TLS listeners (the CLI calls it on SIGHUP):
   * new connections get the new certificate, open ones stay; one that does not load keeps the old (logged).
   */
  reloadCertificates(): CertificateReload[];
}

/** A start-up failure the user can fix; the CLI prints its message without a stack trace. */
export class StartupError extends Error {}

function explainListenError(e: unknown, config: Readonly<Config>): unknown {
  if (e instanceof CertificateError) return new StartupError(e.message, { cause: e });
  const err = e as NodeJS.ErrnoException & { port?: number };
  if (err.code !== 'EADDRINUSE' && err.code !== 'EACCES' && err.code !== 'EADDRNOTAVAIL') return e;
  const settings: [number | undefined, string][] = [
    [config.http.port, 'THINGSTEAD_HTTP_PORT'],
    [config.mqtt.port, 'THINGSTEAD_MQTT_PORT'],
    [config.mqtts.port, 'THINGSTEAD_MQTTS_PORT'],
    [config.https.port, 'THINGSTEAD_HTTPS_PORT'],
  ];
  const setting = settings.find(([port]) => port === err.port)?.[1] ?? 'the port settings';
  const what = { EADDRINUSE: 'is already in use', EACCES: 'needs privileges this process lacks', EADDRNOTAVAIL: 'cannot be bound on this host' }[err.code];
  return new StartupError(
    `Port ${String(err.port)} on ${config.host} ${what}: stop the program that holds it, or choose another port with ${setting} (0 = any free port).`,
    { cause: e },
  );
}

/** The storage adapters, by storage.driver (PostgreSQL is to come beside SQLite). */
const storeAdapters: Record<
  Config['storage']['driver'],
  (storage: Readonly<Config['storage']>, dataDir: string, logger: Logger, onFlushFailure?: () => void) => Store
> = {
  sqlite: (storage, dataDir, logger, onFlushFailure) =>
    createSqliteStore({
      path: join(dataDir, 'thingstead.db'),
      synchronous: storage.sqliteSynchronous,
      onError: (err) => {
        onFlushFailure?.();
        logger.error({ err }, 'telemetry flush failed; the points stay in the write-ahead log and the flush is retried');
      },
    }),
};

/** Opening data written by a newer version is a StartupError: its message says what to do. */
function openingData<T>(open: () => T): T {
  try {
    return open();
  } catch (e) {
    if (e instanceof DataVersionError || e instanceof PersistenceVersionError) throw new StartupError(e.message, { cause: e });
    throw e;
  }
}

/** Holds the data directory for this process (storage/data-dir-lock.ts); another live holder is a StartupError. */
function holdDataDir(dataDir: string, note = ''): { release(): void } {
  try {
    return lockDataDir(dataDir);
  } catch (e) {
    if (e instanceof DataDirInUseError) throw new StartupError(`${e.message}${note}`, { cause: e });
    throw e;
  }
}

/**
 * The store of a stopped installation, for `thingstead admin ...`: refuses while a server holds the data
 * directory (its pid file names a live process), and holds it itself until closed.
 */
export function openStoppedStore(config: Readonly<Config>): { store: Store; close(): Promise<void> } {
  const dataDir = resolve(config.dataDir);
  // The embedded store's file (the only driver so far; a server database would be checked by connecting).
  if (!existsSync(join(dataDir, 'thingstead.db')))
    throw new StartupError(`There is no Thingstead data in ${dataDir}: start the server once first, or point THINGSTEAD_DATA_DIR at its data directory.`);
  const lock = holdDataDir(dataDir, " (this command works on a stopped server's data only)");
  let store: Store;
  try {
    store = openingData(() => storeAdapters[config.storage.driver](config.storage, dataDir, pino({ level: 'silent' })));
  } catch (e) {
    lock.release();
    throw e;
  }
  return {
    store,
    close: async () => {
      await store.close();
      lock.release();
    },
  };
}

/**
 * `thingstead backup <file>`: a consistent backup of the data directory's state (storage/backup.ts), made while
 * a server runs on it or not.
 */
export async function backupData(config: Readonly<Config>, file: string): Promise<BackupManifest> {
  try {
    return await backupDataDir({ dataDir: config.dataDir, file, version });
  } catch (e) {
    if (e instanceof BackupError) throw new StartupError(e.message, { cause: e });
    throw e;
  }
}

/**
 * `thingstead restore <file> [--force]`: into a stopped data directory. The restored store is then opened and
 * closed once, which replays the restored telemetry log into chunks and proves the data opens.
 */
export async function restoreData(config: Readonly<Config>, file: string, force: boolean): Promise<{ manifest: BackupManifest; movedTo?: string }> {
  const dataDir = resolve(config.dataDir);
  ensureOwnerOnlyDir(dataDir);
  const lock = holdDataDir(dataDir, " (restore works on a stopped server's data directory only)");
  try {
    const restored = await restoreDataDir({ dataDir, file, force }).catch((e: unknown) => {
      throw e instanceof BackupError ? new StartupError(e.message, { cause: e }) : e;
    });
    await openingData(() => storeAdapters[config.storage.driver](config.storage, dataDir, pino({ level: 'silent' }))).close();
    if (existsSync(join(dataDir, 'broker.db'))) openingData(() => new SqlitePersistence({ path: join(dataDir, 'broker.db') })).close();
    return restored;
  } finally {
    lock.release();
  }
}

/** The composition root: the only place that chooses adapters. */
export async function startThingstead(config: Readonly<Config>, o: StartOptions = {}): Promise<Thingstead> {
  const logger = o.logger ?? createLogger(config.log);
  const clock = o.clock ?? systemClock;
  const dataDir = resolve(config.dataDir);
  // Owner-only (0700) when created here; an existing directory is the operator's choice, but say so.
  if (ensureOwnerOnlyDir(dataDir).groupOrOtherAccess)
    logger.warn({ dataDir }, 'The data directory is readable by group or others; it holds secrets (chmod 700 it)');
  const lock = holdDataDir(dataDir);

  // Metrics read core's queue at scrape time only, so they can exist before core.
  let pendingPoints = (): number => 0;
  let replacedPoints = (): number => 0;
  let notificationsQueued = (): number => 0;
  let notificationsRefused = (): number => 0;
  const metrics = new Metrics({
    pendingPoints: () => pendingPoints(),
    replacedPoints: () => replacedPoints(),
    notificationsQueued: () => notificationsQueued(),
    notificationsRefused: () => notificationsRefused(),
  });
  let store: Store;
  try {
    store = openingData(() =>
      storeAdapters[config.storage.driver](config.storage, dataDir, logger, () => {
        metrics.telemetryFlushFailures.inc();
      }),
    );
  } catch (e) {
    lock.release();
    throw e;
  }
  const authFailures = new AuthFailureLog({
    logger,
    clock,
    onFailure: (f) => {
      metrics.authFailures.inc({ transport: f.transport });
    },
  });
  const readiness = new Readiness(clock);
  readiness.add('database', async () => {
    await store.ping();
    return 'ok';
  });
  const bus = new InProcessBus({
    onError: (topic, subscriber, err) => {
      metrics.busHandlerErrors.inc({ topic, subscriber });
      logger.error({ err, topic, subscriber }, 'event handler failed');
    },
    onDropped: (topic, subscriber) => {
      metrics.busDropped.inc({ topic, subscriber });
    },
  });
  const t = config.telemetry;
  // The broker starts after core (core.start() runs first); rules publish through it once it is there.
  const brokerRef: { broker?: Broker } = {};
  const core = createCore({
    store,
    clock,
    bus,
    republish: async (i) => {
      if (!brokerRef.broker) throw new Error('MQTT is disabled (mqtt.enabled: false)');
      await brokerRef.broker.publish({ topic: ruleTopic(i.tenantId, i.topic), payload: i.payload, qos: i.qos, retain: i.retain });
    },
    ingestObserver: metrics.ingest,
    onUnmatchedRpcResponse: () => {
      metrics.rpcUnmatched.inc();
    },
    live: {
      maxQueuedMessages: config.ws.maxQueuedMessages,
      maxSubscriptionsPerSession: config.ws.maxSubscriptionsPerSession,
      maxHistoryPoints: config.ws.maxHistoryPoints,
    },
    onLiveConflated: (n) => {
      metrics.wsConflated.inc(n);
    },
    mailer: nodemailerMailer(),
    http: fetchPoster(),
    onNotificationError: (err) => {
      logger.error({ err }, 'notification delivery failed to be stored or updated (it is picked up again)');
    },
    tokens: jwtSigner(loadOrCreateSecret(dataDir, config.auth.jwtSecret)),
    auth: config.auth,
    telemetry: {
      ...config.telemetry,
      // A backlog of several batches is committed one batch per event-loop turn, so I/O (health checks,
      // other devices' packets, PUBACKs) is served between them.
      defer: (fn) => {
        setImmediate(fn);
      },
    },
  });

  pendingPoints = () => core.telemetry.pendingPoints;
  replacedPoints = () => core.telemetry.replacedPoints;
  notificationsQueued = () => core.notifications.queued;
  notificationsRefused = () => core.notifications.refused;
  metrics.observeRules(
    () => core.ruleEngine.totals,
    () => core.ruleEngine.status(),
  );
  const lifecycle = new HttpLifecycle();
  const app = await buildHttpApp({
    lifecycle,
    core,
    metrics,
    logger,
    version,
    readiness,
    authFailures,
    metricsEndpoint: { served: config.metrics.port === undefined, bearerToken: config.metrics.bearerToken },
    bodyLimitBytes: config.http.bodyLimitBytes,
    maxPayloadBytes: t.maxPayloadBytes,
    trustProxy: config.http.trustProxy,
    hstsMaxAgeSec: config.https.hstsMaxAgeSec,
  });
  // WebSocket upgrades of the HTTP (and HTTPS) listener, by path: MQTT at /mqtt, the live API at /api/ws.
  const upgrades = new UpgradeRouter(app.server);
  const live: LiveApi = startLiveApi({ core, config: config.ws, upgrades, metrics, authFailures });
  let mqtt: MqttTransport | undefined;
  let https: HttpsListener | undefined;
  let ops: OpsListener | undefined;
  let httpsCertificate: ListenerCertificate | undefined;
  try {
    // Before any transport takes a connection: nobody is connected after a restart, activity deadlines are rescheduled.
    await core.start();
    if (config.mqtt.enabled) {
      // Sessions and retained messages in broker.db (created owner-only), as durable as thingstead.db: what is
      // acknowledged is stored alike.
      const persistence = config.mqtt.persistSessions
        ? openingData(
            () => new SqlitePersistence({ path: join(dataDir, 'broker.db'), synchronous: config.storage.sqliteSynchronous === 'full' ? 'FULL' : 'NORMAL' }),
          )
        : new MemoryPersistence();
      mqtt = await startMqttTransport({
        core,
        bus,
        logger,
        metrics,
        config: config.mqtt,
        tls: config.mqtts,
        host: config.host,
        persistence,
        upgrades,
        authFailures,
        clock,
      });
      brokerRef.broker = mqtt.broker;
      readiness.add('mqtt', listening(mqtt.servers.tcp));
      if (mqtt.servers.tls) readiness.add('mqtts', listening(mqtt.servers.tls));
    }
    await app.listen({ port: config.http.port, host: config.host });
    readiness.add('http', listening(app.server));
    const h = config.https;
    if (h.port !== undefined && h.certFile !== undefined && h.keyFile !== undefined) {
      httpsCertificate = new ListenerCertificate('https', { certFile: h.certFile, keyFile: h.keyFile });
      https = await listenHttps({ app, certificate: httpsCertificate, port: h.port, host: config.host });
      readiness.add('https', listening(https.server));
    }
    const m = config.metrics;
    if (m.port !== undefined) {
      ops = await listenOps({ metrics, readiness, bearerToken: m.bearerToken, port: m.port, host: m.host ?? config.host });
      readiness.add('metrics', listening(ops.server));
    }
    // Only once every listener is up: a start that fails (a port in use) must not use up the one-time password.
    const first = await core.bootstrap({ email: config.admin.email, password: config.admin.password });
    const out = o.console ?? process.stderr;
    if (first.admin) {
      const { email, generatedPassword } = first.admin;
      if (generatedPassword === undefined) {
        logger.warn({ email }, 'First start: created the system admin with the configured password');
        out.write(`First start: created the system admin ${email} with the password from THINGSTEAD_ADMIN_PASSWORD.\n`);
      } else {
        // The password goes to the terminal only, not into the logs (which are often shipped elsewhere).
        logger.warn({ email }, 'First start: created the system admin; its generated password is printed on stderr once');
        out.write(
          `First start: created the system admin.\n  email:    ${email}\n  password: ${generatedPassword}\n` +
            'Save this password now; it is not shown again. Lost it? Stop the server and run: thingstead admin reset-password --email ' +
            `${email}\n`,
        );
      }
    } else if (config.admin.password !== undefined) {
      logger.warn(
        { email: config.admin.email },
        'admin.password (THINGSTEAD_ADMIN_PASSWORD) is set but ignored: the admin exists already. To change a password, stop the server and run thingstead admin reset-password --email <email>',
      );
    }
  } catch (e) {
    // Close what did open, so a failed start leaves no listener or open database behind.
    await mqtt?.close().catch(() => undefined);
    await live.close(0);
    await https?.close();
    await ops?.close();
    await app.close().catch(() => undefined);
    await core.close();
    await store.close();
    lock.release();
    throw explainListenError(e, config);
  }
  const address = app.server.address();
  const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
  const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host.includes(':') ? `[${config.host}]` : config.host;
  const urls: Thingstead['urls'] = { http: `http://${shown}:${httpPort}`, live: `ws://${shown}:${httpPort}${liveApiPath}` };
  if (mqtt) {
    urls.mqtt = `mqtt://${shown}:${mqtt.ports.tcp}`;
    if (mqtt.ports.tls !== undefined) urls.mqtts = `mqtts://${shown}:${mqtt.ports.tls}`;
    if (config.mqtt.websocket) urls.mqttWs = `ws://${shown}:${httpPort}/mqtt`;
  }
  if (https) {
    urls.https = `https://${shown}:${https.port}`;
    urls.liveTls = `wss://${shown}:${https.port}${liveApiPath}`;
    if (mqtt && config.mqtt.websocket) urls.mqttWss = `wss://${shown}:${https.port}/mqtt`;
  }
  if (ops) urls.metrics = `http://${shown}:${ops.port}/metrics`;
  logger.info(
    { urls, host: config.host, httpPort, httpsPort: https?.port, metricsPort: ops?.port, mqttPorts: mqtt?.ports, dataDir, version },
    `Thingstead ${version} listening on ${Object.values(urls).join(', ')} (API docs ${urls.http}/api/docs)`,
  );

  let closed = false;
  let retentionTimer = clock.setTimeout(function run() {
    core.retention
      .runOnce()
      .then(
        (r) => {
          if (r.deletedPoints > 0) logger.info(r, 'retention: deleted expired telemetry');
        },
        (err: unknown) => {
          logger.error({ err }, 'retention job failed');
        },
      )
      .finally(() => {
        if (closed) return;
        retentionTimer = clock.setTimeout(run, t.retentionCheckIntervalSec * 1000);
        retentionTimer.unref?.();
      });
  }, 10_000);
  retentionTimer.unref?.();

  const shutdown = async (): Promise<void> => {
    closed = true;
    clock.clearTimeout(retentionTimer);
    const drainMs = config.shutdown.drainTimeoutMs;
    const deadline = clock.now() + drainMs;
    logger.info({ drainTimeoutMs: drainMs }, 'shutting down: refusing new work, finishing what was received');
    // 1. Refuse new work, while still answering: HTTP 503 with Retry-After (/readyz 503 too, so a load
    //    balancer moves on), MQTT CONNECT refused with 0x88, connected MQTT clients no longer read.
    lifecycle.shuttingDown = true;
    mqtt?.stopAccepting();
    live.stopAccepting();
    // 2. Drain: what was received is committed (the group committer keeps running) and answered.
    const [mqttLeft, httpDone] = await Promise.all([mqtt?.drain(drainMs) ?? Promise.resolve(0), waitUntil(clock, () => lifecycle.inFlight === 0, deadline)]);
    if (mqttLeft > 0 || !httpDone) {
      logger.warn(
        { drainTimeoutMs: drainMs, httpRequests: lifecycle.inFlight, mqttMessages: mqttLeft, pendingPoints: core.telemetry.pendingPoints },
        `shutdown: the drain time (${drainMs} ms) ran out; cutting ${lifecycle.inFlight} HTTP requests and ${mqttLeft} MQTT messages ` +
          'not answered yet (none was acknowledged; values already queued are still committed below)',
      );
    }
    // Bus subscribers finish what was committed so far (applications get the forwarded copies), within 1 s.
    if (
      (await settleWithin(
        clock,
        bus.drain().then(() => true),
        1000,
      )) !== true
    )
      logger.warn('shutdown: bus subscribers did not finish within 1 s');
    // 3. Close every socket: DISCONNECT 0x8B to MQTT v5 clients, then the TCP, TLS and WebSocket connections,
    //    live API sockets with 1001 (going away); the HTTP listener and its connections (idle keep-alive ones,
    //    and those whose request was cut).
    await Promise.all([mqtt?.close(1000), live.close(1000)]);
    if (
      (await settleWithin(
        clock,
        Promise.all([app.close(), https?.close(), ops?.close()]).then(() => true),
        1000,
      )) !== true
    )
      logger.warn('shutdown: the HTTP server did not close within 1 s');
    // 4. Commit what still waits, then close the stores.
    await core.close();
    await store.close();
    lock.release();
    authFailures.flush();
    logger.info('Thingstead stopped');
  };
  let closing: Promise<void> | undefined;
  return {
    core,
    store,
    bus,
    urls,
    httpPort,
    ...(mqtt ? { mqttPorts: mqtt.ports, broker: mqtt.broker } : {}),
    ...(https ? { httpsPort: https.port } : {}),
    close: () => (closing ??= shutdown()),
    reloadCertificates: () => reloadCertificates([httpsCertificate, mqtt?.certificate], logger),
  };
}
