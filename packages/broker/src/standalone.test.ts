import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { startStandaloneBroker, type StandaloneBroker } from './standalone';

// The broker runs in this process: clients must be spawned asynchronously, never with execFileSync.
const run = promisify(execFile);
const haveMosquitto = existsSync('/usr/bin/mosquitto_passwd') && existsSync('/usr/bin/mosquitto_pub');

describe('standalone broker (thingstead broker)', { skip: !haveMosquitto }, () => {
  let dir: string;
  let server: StandaloneBroker;
  const log: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'standalone-'));
    execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', join(dir, 'passwd'), 'alice', 'pw-a']);
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', join(dir, 'passwd'), 'bob', 'pw-b']);
    writeFileSync(join(dir, 'acl'), 'topic read public/#\nuser alice\ntopic readwrite #\nuser bob\ntopic read public/#\npattern write devices/%u/#\n');
    server = await startStandaloneBroker({
      port: 0,
      host: '127.0.0.1',
      allowAnonymous: true,
      aclFile: join(dir, 'acl'),
      passwordFile: join(dir, 'passwd'),
      dataDir: join(dir, 'data'),
      log: (line) => log.push(line),
    });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const url = () => `mqtt://127.0.0.1:${server.port}`;

  test('a password-file user connects; a wrong password is refused with v5 0x86 / 3.1.1 code 4', async () => {
    const ok = await mqtt.connectAsync(url(), { protocolVersion: 5, username: 'alice', password: 'pw-a', reconnectPeriod: 0 });
    await ok.endAsync();
    for (const [protocolVersion, code] of [
      [5, 0x86],
      [4, 4],
    ] as const) {
      const refused = mqtt.connect(url(), { protocolVersion, username: 'alice', password: 'nope', reconnectPeriod: 0 });
      const err = await new Promise<{ code?: number }>((resolve) =>
        refused.on('error', (e) => {
          resolve(e as { code?: number });
        }),
      );
      assert.equal(err.code, code);
      refused.end(true);
    }
    assert.ok(log.some((l) => l.startsWith('MQTT broker listening')));
  });

  test('ACL: bob may publish only under devices/bob, and may read public/#', async () => {
    const alice = await mqtt.connectAsync(url(), { protocolVersion: 5, username: 'alice', password: 'pw-a', reconnectPeriod: 0 });
    await alice.subscribeAsync('#', { qos: 1 });
    const seen: string[] = [];
    alice.on('message', (t) => seen.push(t));
    const bob = await mqtt.connectAsync(url(), { protocolVersion: 5, username: 'bob', password: 'pw-b', reconnectPeriod: 0 });
    await assert.rejects(bob.publishAsync('devices/alice/x', 'spoof', { qos: 1 }), { code: 0x87 });
    await bob.publishAsync('devices/bob/x', 'ok', { qos: 1 });
    assert.deepEqual(
      (await bob.subscribeAsync('public/#', { qos: 1 })).map((g) => g.qos),
      [1],
    );
    await assert.rejects(bob.subscribeAsync('devices/#', { qos: 1 }), /Not authorized/);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, ['devices/bob/x']);
    await bob.endAsync();
    await alice.endAsync();
  });

  test('mosquitto_pub as anonymous cannot write outside the anonymous rules (3.1.1: acknowledged and dropped)', async () => {
    const watcher = await mqtt.connectAsync(url(), { protocolVersion: 4, username: 'alice', password: 'pw-a', reconnectPeriod: 0 });
    await watcher.subscribeAsync('anon/#', { qos: 1 });
    const seen: string[] = [];
    watcher.on('message', (t) => seen.push(t));
    await run('/usr/bin/mosquitto_pub', ['-h', '127.0.0.1', '-p', String(server.port), '-q', '1', '-t', 'anon/x', '-m', 'x']);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(seen, []);
    await watcher.endAsync();
  });

  test('retained messages survive a restart of the standalone broker (SQLite in dataDir)', async () => {
    const alice = await mqtt.connectAsync(url(), { protocolVersion: 5, username: 'alice', password: 'pw-a', reconnectPeriod: 0 });
    await alice.publishAsync('public/motd', 'hello again', { qos: 1, retain: true });
    await alice.endAsync();
    await server.close();
    server = await startStandaloneBroker({
      port: 0,
      host: '127.0.0.1',
      allowAnonymous: true,
      aclFile: join(dir, 'acl'),
      passwordFile: join(dir, 'passwd'),
      dataDir: join(dir, 'data'),
    });
    const { stdout } = await run('/usr/bin/mosquitto_sub', ['-h', '127.0.0.1', '-p', String(server.port), '-t', 'public/motd', '-C', '1', '-W', '5']);
    assert.equal(stdout, 'hello again\n');
  });

  test('without allowAnonymous, a client without credentials is refused (not authorized)', async () => {
    const closed = await startStandaloneBroker({ port: 0, host: '127.0.0.1' });
    const c = mqtt.connect(`mqtt://127.0.0.1:${closed.port}`, { protocolVersion: 5, reconnectPeriod: 0 });
    const err = await new Promise<{ code?: number }>((resolve) =>
      c.on('error', (e) => {
        resolve(e as { code?: number });
      }),
    );
    assert.equal(err.code, 0x87);
    c.end(true);
    await closed.close();
  });
});
