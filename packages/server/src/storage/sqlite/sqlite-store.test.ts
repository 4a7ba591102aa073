import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../contract';
import { createSqliteStore } from './sqlite-store';

const dir = mkdtempSync(join(tmpdir(), 'thingstead-sqlite-'));
storeContract('sqlite (file, WAL)', {
  open: async () => createSqliteStore({ path: join(dir, 'contract.db'), synchronous: 'normal' }),
  destroy: async () => {
    rmSync(dir, { recursive: true, force: true });
  },
});
