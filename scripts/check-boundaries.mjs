// Enforces the dependency direction of ../shared/DESIGN.md ("Packages"):
//   core and broker import nothing from the workspace; contract imports nothing from the workspace;
//   server -> core, broker, contract; web -> contract; device -> contract.
// core also imports no I/O library: it defines ports and server supplies adapters.
// Also: no import cycle inside packages/broker (see the end of this file).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const allowed = {
  core: [],
  broker: [],
  contract: [],
  server: ['core', 'broker', 'contract'],
  web: ['contract'],
  device: ['contract'],
};
const why = {
  core: 'core is the domain: it defines ports and must stay free of transports, storage and other packages',
  broker: 'broker is a general MQTT library: it must know nothing of devices or the platform',
  contract: 'contract holds shared schemas only',
  server: 'server is the composition root',
  web: 'the console talks to the server over HTTP only; share types through contract',
  device: 'the device SDK talks to the server over the network only; share types through contract',
};
// I/O libraries core may not import (DESIGN.md: "Imports no I/O library").
const coreForbidden = [
  /^node:(net|tls|http|https|http2|dgram|fs|fs\/promises|child_process|cluster|worker_threads)$/,
  /^(net|tls|http|https|dgram|fs|child_process)$/,
  /^(better-sqlite3|pg|nats|fastify|@fastify\/.*|ws|mqtt|mqtt-packet|coap|nodemailer|pino)$/,
];

const importRe = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (/\.(ts|tsx|mts)$/.test(name)) out.push(p);
  }
  return out;
}

const problems = [];
for (const pkg of Object.keys(allowed)) {
  const dir = join(root, 'packages', pkg, 'src');
  if (!existsSync(dir)) continue;
  for (const file of walk(dir, [])) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      const where = relative(root, file);
      const ws = /^@thingstead\/([^/]+)/.exec(spec);
      if (ws && ws[1] !== pkg && !allowed[pkg].includes(ws[1])) {
        problems.push(`${where}: imports ${spec}, but ${pkg} may import only [${allowed[pkg].join(', ')}] (${why[pkg]})`);
      }
      if (spec.startsWith('../') && relative(dir, join(file, '..', spec)).startsWith('..')) {
        problems.push(`${where}: relative import ${spec} leaves packages/${pkg}/src; import the package by name`);
      }
      if (pkg === 'core' && !file.endsWith('.test.ts') && coreForbidden.some((re) => re.test(spec))) {
        problems.push(`${where}: imports ${spec}; core imports no I/O library (define a port, implement it in server)`);
      }
      // core/src/testing (memory store, contract suite) is for tests and is exported only as @thingstead/core/testing,
      // so production code never loads node:test; only tests and that folder may use the test runner.
      const testCode = file.endsWith('.test.ts') || file.startsWith(join(dir, 'testing') + '/');
      if (
        pkg === 'core' &&
        !testCode &&
        (/^node:(test|assert)(\/|$)/.test(spec) || (spec.startsWith('.') && join(file, '..', spec).startsWith(join(dir, 'testing'))))
      ) {
        problems.push(`${where}: imports ${spec}; only core's tests and src/testing may use test helpers (export them through @thingstead/core/testing)`);
      }
    }
  }
}
// No import cycle inside packages/broker, type-only imports included (ADR 0005): the handlers reach the broker
// through handlers/handler-context.ts, connections through ClientContext, so nothing imports broker.ts back.
const noCycles = ['broker'];
for (const pkg of noCycles) {
  const dir = join(root, 'packages', pkg, 'src');
  const edges = new Map();
  for (const file of walk(dir, []).filter((f) => !f.endsWith('.test.ts'))) {
    const targets = [];
    for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (!spec.startsWith('.')) continue;
      const base = resolve(dirname(file), spec);
      const target = [`${base}.ts`, join(base, 'index.ts'), base].find((p) => existsSync(p) && statSync(p).isFile());
      if (target !== undefined && !target.endsWith('.test.ts') && !targets.includes(target)) targets.push(target);
    }
    edges.set(file, targets);
  }
  // Depth-first search; a grey node met again closes a cycle.
  const state = new Map();
  const stack = [];
  const visit = (file) => {
    state.set(file, 'grey');
    stack.push(file);
    for (const next of edges.get(file) ?? []) {
      if (state.get(next) === 'grey') {
        const cycle = stack
          .slice(stack.indexOf(next))
          .concat(next)
          .map((f) => relative(dir, f));
        problems.push(
          `packages/${pkg}/src: import cycle ${cycle.join(' -> ')} (give the importing side a narrow port of its own instead of importing its user)`,
        );
      } else if (!state.has(next)) {
        visit(next);
      }
    }
    stack.pop();
    state.set(file, 'black');
  };
  for (const file of edges.keys()) if (!state.has(file)) visit(file);
}

if (problems.length) {
  console.error(`import boundary check failed (${problems.length}):\n  ` + problems.join('\n  '));
  process.exit(1);
}
console.log('import boundaries ok');
