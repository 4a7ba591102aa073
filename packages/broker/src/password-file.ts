import { createHash, pbkdf2Sync, timingSafeEqual } from 'node:crypto';
import { BrokerError } from './reason-codes';

// Mosquitto password files (mosquitto_passwd(1)): one `username:hash` per line, where the hash
// is `$7$<iterations>$<salt b64>$<hash b64>` (PBKDF2-SHA512, Mosquitto 2) or
// `$6$<salt b64>$<hash b64>` (salted SHA-512, Mosquitto 1.x).

interface Entry {
  kind: 6 | 7;
  iterations: number;
  salt: Buffer;
  hash: Buffer;
}

export interface PasswordFile {
  verify(username: string, password: Buffer | undefined): boolean;
  has(username: string): boolean;
}

export function parsePasswordFile(text: string): PasswordFile {
  const entries = new Map<string, Entry>();
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    const fail = (): never => {
      throw new BrokerError('THINGSTEAD_ERR_BROKER_PASSWORD_FILE', `password file line ${index + 1} is not username:$6$... or username:$7$...`);
    };
    if (colon <= 0) fail();
    const parts = line.slice(colon + 1).split('$');
    let entry: Entry;
    if (parts[1] === '7' && parts.length === 5) {
      entry = { kind: 7, iterations: Number(parts[2]), salt: Buffer.from(parts[3] ?? '', 'base64'), hash: Buffer.from(parts[4] ?? '', 'base64') };
    } else if (parts[1] === '6' && parts.length === 4) {
      entry = { kind: 6, iterations: 1, salt: Buffer.from(parts[2] ?? '', 'base64'), hash: Buffer.from(parts[3] ?? '', 'base64') };
    } else {
      return fail();
    }
    if (!Number.isInteger(entry.iterations) || entry.iterations < 1 || entry.hash.length === 0) fail();
    entries.set(line.slice(0, colon), entry);
  });
  return {
    has: (username) => entries.has(username),
    verify(username, password) {
      const entry = entries.get(username);
      if (entry === undefined || password === undefined) return false;
      const actual =
        entry.kind === 7
          ? pbkdf2Sync(password, entry.salt, entry.iterations, entry.hash.length, 'sha512')
          : createHash('sha512').update(password).update(entry.salt).digest();
      return actual.length === entry.hash.length && timingSafeEqual(actual, entry.hash);
    },
  };
}
