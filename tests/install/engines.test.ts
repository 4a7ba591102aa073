// The README promises Node 20.19: every installed package must say it runs there, or `npm ci` prints
// EBADENGINE warnings (cookie 2 and content-disposition 3 once did; package.json's overrides hold them back).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import semver from 'semver';

const root = new URL('../../', import.meta.url);
const read = (path: string): unknown => JSON.parse(readFileSync(new URL(path, root), 'utf8'));

test('every locked package accepts the oldest Node the README names and the one running', () => {
  const manifest = read('package.json') as { engines: { node: string } };
  const oldest = semver.minVersion(manifest.engines.node);
  assert.ok(oldest, `engines.node ${manifest.engines.node} has a lowest version`);
  const lock = read('package-lock.json') as { packages: Record<string, { engines?: { node?: string } | string[] }> };
  const refusing: string[] = [];
  for (const [path, pkg] of Object.entries(lock.packages)) {
    const range = Array.isArray(pkg.engines) ? undefined : pkg.engines?.node;
    if (range === undefined) continue;
    for (const version of [oldest.version, process.version])
      if (!semver.satisfies(version, range)) refusing.push(`${path || '(root)'} wants node ${range}, not ${version}`);
  }
  assert.deepEqual(refusing, []);
});
