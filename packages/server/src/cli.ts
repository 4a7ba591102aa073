#!/usr/bin/env node
import { startStandaloneBroker } from '@thingstead/broker';
import { createUserOffline, ThingsteadError, resetPassword, roles, systemClock, type Role } from '@thingstead/core';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type FlagSetting } from './config/load';
import type { Config } from './config/schema';
import { brokerLimits } from './config/slices';
import { createLogger } from './logging';
import { backupData, openStoppedStore, restoreData, startThingstead, StartupError } from './main';
import { version } from './version';

const help = `Thingstead ${version}: a self-hosted IoT platform.

Usage:
  thingstead start [--config <file>] [--pretty]
                                       start the platform (what "npm start" runs); --pretty writes
                                       readable log lines instead of JSON (the default on a terminal)
  thingstead broker [--config <file>] [options]
                                       run only the MQTT broker (a Mosquitto replacement), with the
                                       settings of the config's broker section; these flags override them:
      --port <p>              TCP port (broker.port, default 1883; 0 = any free port)
      --host <addr>           address to bind (broker.host, default every address)
      --allow-anonymous       accept clients without a username (broker.allowAnonymous)
      --password-file <file>  Mosquitto password file, mosquitto_passwd format (broker.passwordFile)
      --acl <file>            Mosquitto ACL file, user/topic/pattern rules with %u and %c (broker.aclFile)
      --data-dir <dir>        keep sessions and retained messages in <dir>/broker.db (broker.dataDir)
  thingstead admin reset-password --email <e> [--password-stdin] [--config <file>]
                                       set a user's password (generated and printed unless read from stdin)
                                       and end the user's sessions
  thingstead admin create-user --email <e> --role admin|tenant-admin|viewer [--tenant <name>] [--password-stdin]
                                       add a user (to the Default tenant unless --tenant names another)
                                       Both work on the data directory of a stopped server and refuse while
                                       one runs on it.
  thingstead backup <file> [--config <file>]
                                       write a consistent backup of the data directory (databases, telemetry
                                       log, secrets) to <file>, a tar (gzip if it ends in .gz or .tgz); works
                                       while the server runs
  thingstead restore <file> [--force] [--config <file>]
                                       restore a backup into the data directory of a stopped server; a
                                       directory with data is refused unless --force (its files are then
                                       moved to replaced-<time>/ inside it)
  thingstead --version                 print the version
  thingstead --help                    this text

On SIGHUP, thingstead start re-reads the certificate and key files of HTTPS and MQTT over TLS.

Configuration comes from ./thingstead.yaml (or --config / THINGSTEAD_CONFIG) and THINGSTEAD_* environment
variables, e.g. THINGSTEAD_HTTP_PORT=8080, THINGSTEAD_DATA_DIR=./data, THINGSTEAD_ADMIN_EMAIL,
THINGSTEAD_ADMIN_PASSWORD, THINGSTEAD_LOG_LEVEL, THINGSTEAD_BROKER_PORT. All settings: docs/reference/config.md.
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
        port: { type: 'string', short: 'p' },
        host: { type: 'string' },
        'allow-anonymous': { type: 'boolean' },
        'password-file': { type: 'string' },
        acl: { type: 'string' },
        'data-dir': { type: 'string' },
        email: { type: 'string' },
        role: { type: 'string' },
        tenant: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        force: { type: 'boolean' },
        pretty: { type: 'boolean' },
      },
    });
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${help}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(help);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${version}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  const broker = command === 'broker' && rest.length === 0;
  const admin = command === 'admin' && rest.length === 1 && (rest[0] === 'reset-password' || rest[0] === 'create-user');
  const data = (command === 'backup' || command === 'restore') && rest.length === 1;
  if (!broker && !admin && !data && (command !== 'start' || rest.length > 0)) {
    process.stderr.write(`${command === undefined ? 'No command given.' : `Unknown command: ${[command, ...rest].join(' ')}`}\n\n${help}`);
    return 2;
  }

  let config;
  try {
    config = loadConfig({ env: process.env, cwd: process.cwd(), file: values.config, flags: broker ? brokerFlags(values) : startFlags(values) });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (broker) return runBroker(config);
  if (admin) return runAdmin(config, rest[0] as 'reset-password' | 'create-user', values);
  if (data) return runData(config, command, rest[0] ?? '', values.force === true);
  // One logger for the process: the shutdown's lines below are in the same format as the server's.
  const logger = createLogger(config.log);
  const app = await startThingstead(config, { logger });
  // SIGHUP re-reads the TLS certificates (a renewed certificate) without a restart; logged either way.
  process.on('SIGHUP', () => {
    app.reloadCertificates();
  });
  await signalled({
    first: (signal) => {
      logger.info({ signal }, `${signal}: shutting down (send it again to exit at once)`);
    },
    again: (signal) => {
      logger.warn({ signal }, `${signal} again: exiting at once; what was not acknowledged yet is dropped`);
    },
  });
  // The shutdown bounds itself (drain time + 1 s for sockets); this is the backstop should a step hang anyway.
  const backstopMs = config.shutdown.drainTimeoutMs + 5000;
  setTimeout(() => {
    logger.error({ backstopMs }, `the shutdown did not finish within ${backstopMs} ms; exiting`);
    process.exit(1);
  }, backstopMs).unref();
  await app.close();
  exitWhenIdle((handles) => {
    logger.warn({ handles }, `stopped, but handles are still open (${handles.join(', ')}); exiting`);
  });
  return 0;
}

/**
 * Everything is closed and committed; the process ends when nothing is left on the event loop. Should a
 * handle linger (a library's timer, a socket), say which kinds and exit anyway rather than hang.
 */
function exitWhenIdle(report: (handles: string[]) => void): void {
  setTimeout(() => {
    report(process.getActiveResourcesInfo());
    process.exit(process.exitCode ?? 0);
  }, 1000).unref();
}

/** The flags of `thingstead start`. */
function startFlags(values: { pretty?: boolean | undefined }): FlagSetting[] {
  return values.pretty === true ? [{ flag: '--pretty', path: ['log', 'format'], value: 'pretty' }] : [];
}

/** `thingstead admin ...`: account recovery on a stopped installation. */
async function runAdmin(
  config: Readonly<Config>,
  what: 'reset-password' | 'create-user',
  values: { email?: string | undefined; role?: string | undefined; tenant?: string | undefined; 'password-stdin'?: boolean | undefined },
): Promise<number> {
  const usage = (text: string): number => {
    process.stderr.write(`thingstead admin ${what}: ${text}\n\n${help}`);
    return 2;
  };
  if (values.email === undefined) return usage('--email is required.');
  const role = values.role;
  if (what === 'create-user' && !roles.includes(role as Role)) return usage(`--role must be one of ${roles.join(', ')}.`);
  const password = values['password-stdin'] === true ? await readStdinLine() : undefined;
  const offline = openStoppedStore(config);
  const { store } = offline;
  try {
    const done =
      what === 'reset-password'
        ? await resetPassword({ store, clock: systemClock }, { email: values.email, password })
        : await createUserOffline({ store, clock: systemClock }, { email: values.email, role: role as Role, tenantName: values.tenant, password });
    process.stdout.write(what === 'reset-password' ? `Password of ${done.email} set; its sessions are ended.\n` : `Created ${done.email} (${role}).\n`);
    if (done.generatedPassword !== undefined) process.stdout.write(`  password: ${done.generatedPassword}\nSave it now; it is not shown again.\n`);
    if (done.disabled) process.stdout.write('Note: this account is disabled; an admin can enable it under /api/users.\n');
    return 0;
  } catch (e) {
    if (e instanceof ThingsteadError) {
      process.stderr.write(`thingstead admin ${what}: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await offline.close();
  }
}

/** `thingstead backup` / `restore`. */
async function runData(config: Readonly<Config>, what: 'backup' | 'restore', file: string, force: boolean): Promise<number> {
  const size = (bytes: number): string => (bytes < 1_048_576 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1_048_576).toFixed(1)} MiB`);
  if (what === 'backup') {
    const m = await backupData(config, file);
    const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
    process.stdout.write(`Backed up ${config.dataDir} to ${file}: ${m.files.length} files, ${size(bytes)} (schema ${m.schemaVersion}).
`);
    return 0;
  }
  const { manifest, movedTo } = await restoreData(config, file, force);
  process.stdout.write(`Restored ${file} (made ${manifest.createdAt} by Thingstead ${manifest.thingsteadVersion}) into ${config.dataDir}.
`);
  if (movedTo !== undefined)
    process.stdout.write(`The data it replaced is in ${movedTo}; delete it once you no longer need it.
`);
  return 0;
}

/** One line from stdin (a password piped in, so it is not in the process list or the shell history), at most 4 KiB. */
async function readStdinLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.includes('\n') || text.length > 4096) break;
  }
  return (text.split(/\r?\n/)[0] ?? '').slice(0, 4096);
}

/** The flags of `thingstead broker`, each the setting of the broker section it overrides. */
const brokerFlagPaths = {
  port: 'port',
  host: 'host',
  'allow-anonymous': 'allowAnonymous',
  'password-file': 'passwordFile',
  acl: 'aclFile',
  'data-dir': 'dataDir',
} as const satisfies Record<string, keyof Config['broker']>;

function brokerFlags(values: Partial<Record<keyof typeof brokerFlagPaths, string | boolean>>): FlagSetting[] {
  return Object.entries(brokerFlagPaths).flatMap(([flag, key]) => {
    const value = values[flag as keyof typeof brokerFlagPaths];
    return value === undefined ? [] : [{ flag: `--${flag}`, path: ['broker', key], value }];
  });
}

async function runBroker(config: Readonly<Config>): Promise<number> {
  let broker;
  try {
    broker = await startStandaloneBroker({
      ...config.broker,
      limits: brokerLimits(config.broker),
      log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
    });
  } catch (e) {
    process.stderr.write(`thingstead broker: ${(e as Error).message}\n`);
    return 2;
  }
  // The standalone broker logs Mosquitto-style lines (log above), and so does its shutdown.
  const line = (text: string) => process.stdout.write(`${new Date().toISOString()} ${text}\n`);
  await signalled({
    first: (signal) => {
      line(`${signal}: shutting down (send it again to exit at once)`);
    },
    again: (signal) => {
      line(`${signal} again: exiting at once`);
    },
  });
  await broker.close();
  exitWhenIdle((handles) => {
    line(`stopped, but handles are still open (${handles.join(', ')}); exiting`);
  });
  return 0;
}

/** Resolves on the first SIGINT/SIGTERM. A second one exits at once, with 128 + its number, without finishing the shutdown. */
function signalled(say: { first(signal: NodeJS.Signals): void; again(signal: NodeJS.Signals): void }): Promise<void> {
  return new Promise<void>((resolve) => {
    let first: NodeJS.Signals | undefined;
    const onSignal = (signal: NodeJS.Signals) => {
      if (first === undefined) {
        first = signal;
        say.first(signal);
        resolve();
        return;
      }
      // Nothing acknowledged is lost even so: an ack is only sent after its commit.
      say.again(signal);
      process.exit(128 + constants.signals[signal]);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const text = err instanceof StartupError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`thingstead: ${text}\n`);
    process.exitCode = 1;
  },
);
