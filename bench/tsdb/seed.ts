// Fills a database with `--points` telemetry points for separate seed devices (a meter fleet: 1,000 devices x
// voltage/current/power, one instant per append), through the createSqliteStore of the checkout `--repo`, so a
// server started on that data directory afterwards finds them stored. Used by bench/ingest/run.ts --seed-points;
// run it in that checkout's directory. Prints one JSON line with what it did.
//
//   node --import tsx bench/tsdb/seed.ts --repo DIR --db DATA_DIR/thingstead.db --points N [--sync normal] [--end-ts MS]
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { int, list } from '../ingest/stats';
import { createDevices, dirBytes, fleetInstant, loadStoreFactory, type Synchronous } from './fleet';
import { mulberry32 } from '@thingstead/core/testing';

const { values: args } = parseArgs({
  options: {
    repo: { type: 'string' },
    db: { type: 'string' },
    points: { type: 'string' },
    devices: { type: 'string', default: '1000' },
    sync: { type: 'string', default: 'normal' },
    'end-ts': { type: 'string' },
  },
  strict: true,
});
if (args.repo === undefined || args.db === undefined || args.points === undefined) throw new Error('seed.ts wants --repo, --db and --points');
const points = int('points', args.points, 0, 0);
const devices = int('devices', args.devices, 1000);
const sync = list('sync', args.sync, ['full', 'normal'])[0] as Synchronous;
const perInstant = devices * 3;
const instants = Math.ceil(points / perInstant);
// One instant a second, ending just before `end-ts` (default: now), so the seed lies in the recent past and no
// retention setting removes it.
const endTs = int('end-ts', args['end-ts'], Date.now());
const t0Ts = endTs - instants * 1000 - 60_000;

const open = await loadStoreFactory(resolve(args.repo));
const store = open({ path: resolve(args.db), synchronous: sync });
const ids = await createDevices(store, devices, 'seed');
const rnd = mulberry32(5);
const t0 = performance.now();
let done = 0;
let lastLog = t0;
for (let b = 0; done < points; b++) {
  let batch = fleetInstant(ids, t0Ts + b * 1000, rnd, false);
  if (done + batch.length > points) batch = batch.slice(0, points - done);
  await store.telemetry.append(batch);
  done += batch.length;
  if (performance.now() - lastLog > 30_000) {
    lastLog = performance.now();
    console.error(`  seed: ${done.toLocaleString('en-US')} of ${points.toLocaleString('en-US')} points`);
  }
}
const ms = performance.now() - t0;
await store.close();
console.log(JSON.stringify({ points: done, devices, ms, pointsPerSec: (done / ms) * 1000, bytes: dirBytes(dirname(resolve(args.db))) }));
