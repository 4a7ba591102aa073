import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Broker } from '../../broker';
import { connected, TestClient } from '../../testing/test-client';
import { persistenceContract } from '../persistence-contract';
import type { BrokerPersistence } from '../persistence';
import { SqlitePersistence } from './sqlite-persistence';

const dir = mkdtempSync(join(tmpdir(), 'broker-sqlite-'));
after(() => {
  rmSync(dir, { recursive: true, force: true });
});
let n = 0;
const paths = new WeakMap<BrokerPersistence, string>();

describe('SqlitePersistence', () => {
  persistenceContract(
    'sqlite',
    () => {
      const path = join(dir, `db-${n++}.sqlite`);
      const p = new SqlitePersistence({ path });
      paths.set(p, path);
      return p;
    },
    (previous) => {
      const path = paths.get(previous) ?? '';
      void previous.close();
      return new SqlitePersistence({ path });
    },
  );

  test('a persistent session, its QoS 2 queue and retained messages survive a broker restart on the same file', async () => {
    const path = join(dir, 'restart.sqlite');
    const first = new Broker({ persistence: new SqlitePersistence({ path }) });
    const options = { clientId: 'dev', clean: false, properties: { sessionExpiryInterval: 3600 } };
    const c = await connected(first, 5, options);
    c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'cmd/#', qos: 2 }] });
    await c.next('suback');
    c.send({ cmd: 'disconnect', reasonCode: 0 });
    await c.waitClosed();
    await first.publish({ topic: 'cmd/1', payload: 'reboot', qos: 2 });
    await first.publish({ topic: 'state', payload: 'on', retain: true });
    await first.close();

    const second = new Broker({ persistence: new SqlitePersistence({ path }) });
    const back = new TestClient(second, 5);
    assert.equal((await back.connect(options)).sessionPresent, true);
    const p = await back.next('publish');
    assert.equal(p.payload.toString(), 'reboot');
    assert.equal(p.qos, 2);
    back.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'state', qos: 0 }] });
    await back.next('suback');
    assert.equal((await back.next('publish')).payload.toString(), 'on');
    await second.close();
  });

  test('a new database file is owner-only (0600) whatever the umask: it holds every queued payload', () => {
    const path = join(dir, 'owner-only.sqlite');
    const before = process.umask(0);
    try {
      new SqlitePersistence({ path }).close();
    } finally {
      process.umask(before);
    }
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});
