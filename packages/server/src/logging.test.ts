import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { ManualClock } from '@thingstead/core';
import { AuthFailureLog, createLogger } from './logging';

function capture(): { out: PassThrough; lines: () => string[] } {
  const out = new PassThrough();
  let text = '';
  out.on('data', (d: Buffer) => (text += d.toString()));
  return { out, lines: () => text.split('\n').filter((l) => l !== '') };
}

test('json: one object per line, credentials redacted wherever they are put', () => {
  const { out, lines } = capture();
  const log = createLogger({ level: 'info', format: 'json' }, out);
  log.info({ token: 'device-secret', user: { password: 'hunter2' }, apiKey: 'k' }, 'hello');
  const [line] = lines();
  assert.ok(line !== undefined);
  const o = JSON.parse(line) as Record<string, unknown>;
  assert.equal(o.msg, 'hello');
  assert.equal(o.service, 'thingstead');
  assert.equal(line.includes('device-secret') || line.includes('hunter2'), false);
  assert.equal(o.token, '[redacted]');
});

test('auto: JSON when the output is not a terminal, readable lines when it is', () => {
  const pipe = capture();
  createLogger({ level: 'info', format: 'auto' }, pipe.out).info('to a pipe');
  assert.doesNotThrow(() => JSON.parse(pipe.lines()[0] ?? ''));
  const tty = capture();
  Object.assign(tty.out, { isTTY: true });
  createLogger({ level: 'info', format: 'auto' }, tty.out).warn({ clientId: 'c1' }, 'to a terminal');
  const colours = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
  const shown = tty.lines().join('\n').replace(colours, '');
  assert.throws(() => JSON.parse(tty.lines()[0] ?? ''));
  assert.match(shown, /WARN/);
  assert.match(shown, /to a terminal/);
  assert.match(shown, /\{"clientId":"c1"\}/);
});

test('auth failures: at most perWindow lines a window, then one summary when the window ends', () => {
  const { out, lines } = capture();
  const clock = new ManualClock();
  let counted = 0;
  const log = new AuthFailureLog({
    logger: createLogger({ level: 'info', format: 'json' }, out),
    clock,
    perWindow: 3,
    windowMs: 10_000,
    onFailure: () => counted++,
  });
  for (let i = 0; i < 8; i++) log.record({ transport: 'mqtt', remoteAddress: i < 6 ? '10.0.0.1' : '10.0.0.2', reason: 'unknown device credentials' });
  const parsed = () => lines().map((l) => JSON.parse(l) as Record<string, any>);
  assert.equal(counted, 8, 'every failure is counted');
  assert.equal(parsed().length, 3);
  assert.ok(parsed().every((l) => l.level === 40 && l.remoteAddress === '10.0.0.1' && l.transport === 'mqtt'));
  clock.advance(10_000);
  const summary = parsed()[3];
  assert.equal(summary?.suppressed, 5);
  assert.equal(summary.addresses, 2);
  assert.deepEqual(summary.top, { '10.0.0.1': 3, '10.0.0.2': 2 });
  // A new window logs again.
  log.record({ transport: 'http', remoteAddress: '10.0.0.3', reason: 'POST /api/auth/login: THINGSTEAD_ERR_INVALID_CREDENTIALS' });
  assert.equal(parsed().length, 5);
  assert.equal(parsed()[4]?.remoteAddress, '10.0.0.3');
  log.flush();
  assert.equal(parsed().length, 5, 'nothing held back, no summary');
});
