#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config/load';
import { startThingstead } from './main';
import { version } from './version';

const help = `Thingstead ${version}: a self-hosted IoT platform.

Usage:
  thingstead start [--config <file>]   start the platform (what "npm start" runs)
  thingstead --version                 print the version
  thingstead --help                    this text

Configuration comes from ./thingstead.yaml (or --config / THINGSTEAD_CONFIG) and THINGSTEAD_* environment
variables, e.g. THINGSTEAD_HTTP_PORT=8080, THINGSTEAD_DATA_DIR=./data, THINGSTEAD_ADMIN_EMAIL,
THINGSTEAD_ADMIN_PASSWORD, THINGSTEAD_LOG_LEVEL. All settings: docs/reference/config.md.
`;

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' }, version: { type: 'boolean', short: 'v' } } });
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
  if (command !== 'start' || rest.length > 0) {
    process.stderr.write(`${command === undefined ? 'No command given.' : `Unknown command: ${[command, ...rest].join(' ')}`}\n\n${help}`);
    return 2;
  }

  let config;
  try {
    config = loadConfig({ env: process.env, cwd: process.cwd(), file: values.config });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const app = await startThingstead(config);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      process.stderr.write(`${signal}: shutting down\n`);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await app.close();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`thingstead: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
