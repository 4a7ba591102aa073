import { createMemoryStore } from './memory-store';
import { storeContract } from './store-contract';

storeContract(
  'memory',
  { open: async () => createMemoryStore(), destroy: async () => undefined },
  {
    skip: {
      'what was committed is there after close and open': 'the memory store keeps its data in the process; open() gives a new, empty store',
    },
  },
);
