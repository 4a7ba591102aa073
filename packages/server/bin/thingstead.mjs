#!/usr/bin/env node
// The `thingstead` command: runs the TypeScript sources through tsx (docs/adr/0001).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
