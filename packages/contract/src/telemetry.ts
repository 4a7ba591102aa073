import { Type, type Static } from '@sinclair/typebox';
import { AnyKeys, Ms } from './common';

/** The largest timestamp a query takes: the end of the JavaScript Date range (year 275760), a safe integer. */
export const maxQueryMs = 8_640_000_000_000_000;

/** Telemetry queries and their results. */
export const TelemetryValue = Type.Unknown({ description: 'number, string, boolean or JSON object' });
export const TimedValue = Type.Object({ ts: Ms, value: TelemetryValue });
export type TimedValue = Static<typeof TimedValue>;
export const Aggregation = Type.Union(['none', 'min', 'max', 'avg', 'sum', 'count'].map((a) => Type.Literal(a)));
export const TelemetryQuery = Type.Object({
  keys: Type.Optional(Type.String({ maxLength: 8192, description: 'Comma-separated keys; all keys when absent' })),
  from: Type.Optional(Type.Integer({ minimum: 0, maximum: maxQueryMs, description: 'Start (ms, inclusive); default 0' })),
  to: Type.Optional(Type.Integer({ minimum: 1, maximum: maxQueryMs, description: 'End (ms, exclusive); default now' })),
  interval: Type.Optional(Type.Integer({ minimum: 1, maximum: maxQueryMs, description: 'Bucket width in ms; required with agg other than none' })),
  agg: Type.Optional(Aggregation),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'Most values per key (default 100 raw, 1000 aggregated)' })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')], { description: 'Raw values only; default desc (newest first)' })),
});
export type TelemetryQuery = Static<typeof TelemetryQuery>;
export const TelemetryResult = Type.Object({
  from: Ms,
  to: Ms,
  agg: Aggregation,
  intervalMs: Type.Union([Type.Integer(), Type.Null()]),
  data: AnyKeys(Type.Array(TimedValue), { description: 'key -> values; a bucket ts is the bucket start' }),
});
export const LatestQuery = Type.Object({ keys: Type.Optional(Type.String({ maxLength: 8192 })) });
export const LatestResult = Type.Object({ data: AnyKeys(TimedValue) });
export const KeysResult = Type.Object({ keys: Type.Array(Type.String()) });
