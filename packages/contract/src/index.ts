/**
 * API schemas shared by the server (validation, OpenAPI), the console and the device SDK. Types derive from
 * the schemas, so the wire format has one definition. One file per feature; this re-exports them.
 */
export { AnyKeys, IdParams } from './common';
export * from './errors';
export * from './paging';
export * from './accounts';
export * from './auth';
export * from './devices';
export * from './telemetry';
export * from './attributes';
export * from './health';
export * from './device-api';
export * from './rpc';
export * from './alarms';
export * from './live';
export * from './rules';
export * from './notifications';
