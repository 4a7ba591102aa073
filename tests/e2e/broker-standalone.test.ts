import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { runCli } from './cli-process';

const root = new URL('../..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'thingstead-standalone-'));
const exec = promisify(execFile);

interface Running {
  child: ChildProcessWithoutNullStreams;
  port: number;
  stop(): Promise<number | null>;
}

/** Every broker started, so a failing test cannot leave one running (which would keep the runner alive). */
const started: Running[] = [];

async function startBroker(args: string[], env: Record<string, string> = {}): Promise<Running> {
  const child = spawn(process.execPath, ['packages/server/bin/thingstead.mjs', 'broker', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`broker did not start: ${out}`));
    }, 20_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on [^\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.on('exit', () => {
    const i = started.indexOf(running);
    if (i >= 0) started.splice(i, 1);
  });
  const running: Running = {
    child,
    port,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
  started.push(running);
  return running;
}

const sub = (port: number, args: string[]) => exec('mosquitto_sub', ['-h', '127.0.0.1', '-p', String(port), '-W', '10', ...args]);
const pub = (port: number, args: string[]) => exec('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), ...args]);

describe('thingstead broker (standalone, a Mosquitto replacement)', () => {
  after(async () => {
    await Promise.all(started.map((b) => b.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('retained messages, QoS 2 and persistent sessions survive a restart (mosquitto clients)', async () => {
    const data = join(dir, 'data');
    let b = await startBroker(['--allow-anonymous', '--data-dir', data]);
    // A persistent session subscribes, then goes away.
    await sub(b.port, ['-V', 'mqttv311', '-i', 'keeper', '-c', '-q', '2', '-t', 'plant/#', '-E']);
    await pub(b.port, ['-V', 'mqttv311', '-t', 'plant/state', '-m', 'running', '-r', '-q', '1']);
    await pub(b.port, ['-V', 'mqttv5', '-t', 'plant/qos2', '-m', 'exactly-once', '-q', '2']);
    assert.equal(await b.stop(), 0);

    b = await startBroker(['--allow-anonymous', '--data-dir', data]);
    const retained = await sub(b.port, ['-V', 'mqttv5', '-t', 'plant/state', '-C', '1']);
    assert.equal(retained.stdout.trim(), 'running', 'the retained message survived');
    // -R skips the copy of the retained message that the re-sent SUBSCRIBE brings; the queued ones remain.
    const queued = await sub(b.port, ['-V', 'mqttv311', '-i', 'keeper', '-c', '-q', '2', '-t', 'plant/#', '-C', '2', '-v', '-R']);
    const lines = queued.stdout.trim().split('\n').sort();
    assert.deepEqual(lines, ['plant/qos2 exactly-once', 'plant/state running'], 'the queued messages reached the persistent session once');
    // Deleting the retained message with an empty payload.
    await pub(b.port, ['-t', 'plant/state', '-n', '-r']);
    const none = await sub(b.port, ['-t', 'plant/state', '-C', '1', '-W', '1']).catch((e: unknown) => e as { code: number });
    assert.notEqual((none as { code?: number }).code ?? 0, 0, 'no retained message is left');
    assert.equal(await b.stop(), 0);
  });

  test('a will message is published when a client vanishes', async () => {
    const b = await startBroker(['--allow-anonymous']);
    try {
      const watcher = sub(b.port, ['-t', 'status/dev1', '-C', '1']);
      await new Promise((r) => setTimeout(r, 300));
      const c = mqtt.connect({
        host: '127.0.0.1',
        port: b.port,
        protocolVersion: 5,
        clientId: 'dev1',
        reconnectPeriod: 0,
        will: { topic: 'status/dev1', payload: Buffer.from('offline'), qos: 1, retain: false },
      });
      await new Promise<void>((resolve) =>
        c.once('connect', () => {
          resolve();
        }),
      );
      c.stream.destroy();
      assert.equal((await watcher).stdout.trim(), 'offline');
    } finally {
      await b.stop();
    }
  });

  test('password file and ACL: %u patterns, and a wildcard in a username does not widen them', async () => {
    const passwd = join(dir, 'passwd');
    writeFileSync(passwd, '');
    execFileSync('mosquitto_passwd', ['-b', passwd, 'alice', 'alice-pw']);
    execFileSync('mosquitto_passwd', ['-b', passwd, '#', 'hash-pw']);
    const acl = join(dir, 'acl');
    writeFileSync(acl, 'pattern readwrite users/%u/#\n');
    const b = await startBroker(['--password-file', passwd, '--acl', acl]);
    try {
      const ok = sub(b.port, ['-u', 'alice', '-P', 'alice-pw', '-t', 'users/alice/#', '-C', '1']);
      await new Promise((r) => setTimeout(r, 300));
      await pub(b.port, ['-u', 'alice', '-P', 'alice-pw', '-t', 'users/alice/inbox', '-m', 'hi', '-q', '1']);
      assert.equal((await ok).stdout.trim(), 'hi');
      const wrongPw = await pub(b.port, ['-u', 'alice', '-P', 'nope', '-t', 'users/alice/x', '-m', 'x']).catch((e: unknown) => e as { code: number });
      assert.notEqual((wrongPw as { code?: number }).code ?? 0, 0);
      // User "#" must not get users/#/... turned into a filter that reads everyone (CVE-2017-7650).
      const snoop = sub(b.port, ['-V', 'mqttv5', '-u', '#', '-P', 'hash-pw', '-t', 'users/#', '-C', '1', '-W', '2']).catch(
        (e: unknown) => e as { code: number; stdout: string },
      );
      await new Promise((r) => setTimeout(r, 300));
      await pub(b.port, ['-u', 'alice', '-P', 'alice-pw', '-t', 'users/alice/secret', '-m', 'private', '-q', '1']);
      const res = (await snoop) as { stdout?: string };
      assert.ok(!(res.stdout ?? '').includes('private'), 'user "#" read alice\'s topic');
    } finally {
      await b.stop();
    }
  });
  test('settings come from the config file and THINGSTEAD_BROKER_* variables; the flags override both', async () => {
    const data = join(dir, 'env-data');
    const file = join(dir, 'broker.yaml');
    // The file says port 1 and no anonymous clients; --port 0 and the variable win.
    writeFileSync(file, 'broker:\n  port: 1\n  allowAnonymous: false\n  maxPacketBytes: 4096\n');
    const b = await startBroker(['--config', file], {
      THINGSTEAD_BROKER_ALLOW_ANONYMOUS: 'true',
      THINGSTEAD_BROKER_DATA_DIR: data,
      THINGSTEAD_BROKER_MAX_PACKET_BYTES: '2048',
    });
    try {
      const c = mqtt.connect({ host: '127.0.0.1', port: b.port, protocolVersion: 5, reconnectPeriod: 0 });
      const connack = await new Promise<{ properties?: { maximumPacketSize?: number } }>((resolve, reject) => {
        c.once('connect', resolve);
        c.once('error', reject);
      });
      assert.equal(connack.properties?.maximumPacketSize, 2048, 'broker.maxPacketBytes from THINGSTEAD_BROKER_MAX_PACKET_BYTES');
      await c.endAsync();
      assert.ok(existsSync(join(data, 'broker.db')), 'broker.dataDir from THINGSTEAD_BROKER_DATA_DIR');
    } finally {
      await b.stop();
    }
  });

  test('invalid settings stop it with exit code 2, every problem listed with the flag or variable it came from', async () => {
    const r = runCli(['broker', '--port', '70000', '--acl', join(dir, 'no-such-acl')], {
      THINGSTEAD_BROKER_MAX_CONNECTIONS: 'lots',
      THINGSTEAD_BROKER_NOPE: '1',
    });
    assert.equal(await r.exit, 2);
    const err = r.stderr();
    assert.match(err, /Invalid configuration/);
    assert.match(err, /broker\.port \(--port\): .*got "70000"/);
    assert.match(err, /broker\.maxConnections \(THINGSTEAD_BROKER_MAX_CONNECTIONS\): .*got "lots"/);
    assert.match(err, /broker\.aclFile \(--acl\): file .*no-such-acl does not exist/);
    assert.match(err, /THINGSTEAD_BROKER_NOPE: unknown setting/);
  });
});
