import { describe } from 'node:test';
import { persistenceContract } from '../persistence-contract';
import { MemoryPersistence } from './memory-persistence';

describe('MemoryPersistence', () => {
  // A "reopen" of the memory adapter is the same instance, as a new Broker given it would see.
  persistenceContract(
    'memory',
    () => new MemoryPersistence(),
    (p) => p,
  );
});
