import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { parsePasswordFile } from './password-file';

describe('password file', () => {
  test('verifies $7$ (PBKDF2-SHA512) entries written by mosquitto_passwd', { skip: !existsSync('/usr/bin/mosquitto_passwd') }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-'));
    try {
      const file = join(dir, 'pw');
      execFileSync('/usr/bin/mosquitto_passwd', ['-c', '-b', file, 'alice', 's3cret']);
      const pw = parsePasswordFile(readFileSync(file, 'utf8'));
      assert.equal(pw.verify('alice', Buffer.from('s3cret')), true);
      assert.equal(pw.verify('alice', Buffer.from('wrong')), false);
      assert.equal(pw.verify('bob', Buffer.from('s3cret')), false);
      assert.equal(pw.verify('alice', undefined), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('verifies $6$ (salted SHA-512) entries of Mosquitto 1.x', () => {
    const salt = Buffer.from('saltsaltsaltsalt');
    const hash = createHash('sha512').update('pw').update(salt).digest();
    const pw = parsePasswordFile(`old:$6$${salt.toString('base64')}$${hash.toString('base64')}\n`);
    assert.equal(pw.verify('old', Buffer.from('pw')), true);
    assert.equal(pw.has('old'), true);
  });

  test('malformed lines are reported', () => {
    assert.throws(() => parsePasswordFile('nocolon'), { code: 'THINGSTEAD_ERR_BROKER_PASSWORD_FILE' });
    assert.throws(() => parsePasswordFile('u:plaintext'), /line 1/);
  });
});
