/**
 * Test helpers for adapters and services: `@thingstead/core/testing`. Kept out of the main entry point, so
 * production imports of core never load node:test.
 */
export { createMemoryStore } from './memory-store';
export { rejectsWith, storeContract, type StoreContractOptions, type StoreFactory } from './store-contract';
export { createTestCore, principal, RecordingBus, testAdmin, testSigner, type TestCore } from './test-core';
export { mulberry32 } from './random';
