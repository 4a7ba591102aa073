import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BusEvents } from '@thingstead/core';
import { InProcessBus } from './in-process-bus';

const created = (n: number): BusEvents['device.created'] => ({ deviceId: `d${n}`, tenantId: 't' });
const turn = () => new Promise((r) => setImmediate(r));

function bus(maxQueued?: number) {
  const errors: string[] = [];
  const dropped: string[] = [];
  const b = new InProcessBus({
    onError: (topic, subscriber, err) => errors.push(`${topic}/${subscriber}: ${(err as Error).message}`),
    onDropped: (topic, subscriber) => dropped.push(`${topic}/${subscriber}`),
    ...(maxQueued === undefined ? {} : { maxQueued }),
  });
  return { b, errors, dropped };
}

describe('InProcessBus', () => {
  test("publish never runs a handler: delivery comes after the publisher's turn, in publish order", async () => {
    const { b } = bus();
    const seen: string[] = [];
    b.subscribe(
      'device.created',
      (e) => {
        seen.push(e.deviceId);
      },
      { name: 'a' },
    );
    await b.publish('device.created', created(1));
    void b.publish('device.created', created(2));
    assert.deepEqual(seen, [], 'nothing delivered inside publish, nor before the turn ends');
    await turn();
    assert.deepEqual(seen, ['d1', 'd2']);
  });

  test('a subscriber whose handler is pending holds only its own next event; the others go on', async () => {
    const { b } = bus();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow: string[] = [];
    const fast: string[] = [];
    b.subscribe(
      'device.created',
      async (e) => {
        slow.push(e.deviceId);
        await gate;
      },
      { name: 'slow' },
    );
    b.subscribe(
      'device.created',
      (e) => {
        fast.push(e.deviceId);
      },
      { name: 'fast' },
    );
    for (let i = 1; i <= 3; i++) await b.publish('device.created', created(i));
    await turn();
    await turn();
    assert.deepEqual(fast, ['d1', 'd2', 'd3']);
    assert.deepEqual(slow, ['d1'], 'one event at a time: the next waits for the pending handler');
    const drained = b.drain();
    release();
    await drained;
    assert.deepEqual(slow, ['d1', 'd2', 'd3']);
  });

  test('a subscriber that cannot keep up loses its oldest events, reported; the publisher is never refused', async () => {
    const { b, dropped } = bus(2);
    const seen: string[] = [];
    b.subscribe(
      'device.created',
      (e) => {
        seen.push(e.deviceId);
      },
      { name: 'small' },
    );
    for (let i = 1; i <= 5; i++) await b.publish('device.created', created(i));
    assert.deepEqual(dropped, ['device.created/small', 'device.created/small', 'device.created/small']);
    await b.drain();
    assert.deepEqual(seen, ['d4', 'd5']);
  });

  test('a throwing or rejecting handler is reported and the next events still arrive', async () => {
    const { b, errors } = bus();
    const seen: string[] = [];
    b.subscribe(
      'device.created',
      (e) => {
        if (e.deviceId === 'd1') throw new Error('boom');
        if (e.deviceId === 'd2') return Promise.reject(new Error('later boom'));
        seen.push(e.deviceId);
        return undefined;
      },
      { name: 'flaky' },
    );
    for (let i = 1; i <= 3; i++) await b.publish('device.created', created(i));
    await b.drain();
    assert.deepEqual(errors, ['device.created/flaky: boom', 'device.created/flaky: later boom']);
    assert.deepEqual(seen, ['d3']);
  });

  test('unsubscribing drops what that subscriber had waiting; drain() does not wait for it', async () => {
    const { b } = bus();
    const seen: string[] = [];
    const off = b.subscribe(
      'device.created',
      (e) => {
        seen.push(e.deviceId);
      },
      { name: 'gone' },
    );
    await b.publish('device.created', created(1));
    off();
    await b.drain();
    await turn();
    assert.deepEqual(seen, []);
  });

  test('a long backlog is delivered over several turns, so I/O is served between them', async () => {
    const { b } = bus(100_000);
    let n = 0;
    b.subscribe(
      'device.created',
      () => {
        n++;
      },
      { name: 'counter' },
    );
    for (let i = 0; i < 2000; i++) void b.publish('device.created', created(i));
    await turn();
    assert.ok(n > 0 && n < 2000, `part of the backlog per turn (got ${n})`);
    await b.drain();
    assert.equal(n, 2000);
  });
});
