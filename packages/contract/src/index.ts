/**
 * API schemas shared by the server (validation, OpenAPI), the console and the device SDK. Types derive from
 * the schemas, so the wire format has one definition.
 */
import { Type, type ObjectOptions, type Static, type TSchema } from '@sinclair/typebox';

const Id = Type.String({ minLength: 1, maxLength: 64, description: 'Identifier' });
const Ms = Type.Integer({ description: 'Milliseconds since 1970-01-01T00:00:00Z' });
/**
 * A JSON object with any keys: Type.Record with its key pattern ^(.*)$ replaced, because `.` does not match a
 * line break (\n, U+2028, U+2029) and fastify's response serialiser silently dropped keys that do not match,
 * so metadata sent as {"\u2028":1} came back as {} (found by the HTTP fuzzer).
 */
export const AnyKeys = <T extends TSchema>(value: T, options: ObjectOptions = {}) => {
  const record = Type.Record(Type.String(), value, options);
  return { ...record, patternProperties: { '^[\\s\\S]*$': value } } as typeof record;
};
const Obj = AnyKeys(Type.Unknown());
/** Every numeric query parameter is bounded, so none reaches the database as a float (offset=1e20 once did). */
export const maxOffset = 1_000_000_000;
/** The largest timestamp a query takes: the end of the JavaScript Date range (year 275760), a safe integer. */
export const maxQueryMs = 8_640_000_000_000_000;

export const ErrorBody = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ description: 'Stable error code, e.g. THINGSTEAD_ERR_NOT_FOUND (docs/reference/errors.md)' }),
    error: Type.String({ description: 'HTTP reason phrase' }),
    message: Type.String(),
    hint: Type.String({ description: 'What to do about it' }),
    details: Type.Optional(Obj),
  },
);
export type ErrorBody = Static<typeof ErrorBody>;

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ items: Type.Array(item), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() });

export const PageQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 50 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: maxOffset, default: 0 })),
  sort: Type.Optional(Type.String({ maxLength: 32 })),
  order: Type.Optional(Type.Union([Type.Literal('asc'), Type.Literal('desc')])),
  search: Type.Optional(Type.String({ maxLength: 255, description: 'Case-insensitive substring of the name' })),
  tenantId: Type.Optional(Type.String({ maxLength: 64, description: 'System admins only: list another tenant' })),
});
export type PageQuery = Static<typeof PageQuery>;

export const IdParams = Type.Object({ id: Id });
export type IdParams = Static<typeof IdParams>;

export const Role = Type.Union([Type.Literal('admin'), Type.Literal('tenant-admin'), Type.Literal('viewer')]);

// Accounts
export const LoginBody = Type.Object({ email: Type.String({ maxLength: 254 }), password: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
export const RefreshBody = Type.Object({ refreshToken: Type.String({ maxLength: 512 }) }, { additionalProperties: false });
export const User = Type.Object({ id: Id, tenantId: Id, email: Type.String(), role: Role, disabled: Type.Boolean(), createdAt: Ms });
export type User = Static<typeof User>;
export const Session = Type.Object({
  token: Type.String({ description: 'Access token (JWT); send as Authorization: Bearer <token>' }),
  refreshToken: Type.String({ description: 'Single-use; exchange at POST /api/auth/refresh for a new session' }),
  expiresInSec: Type.Integer(),
  user: User,
});
export type Session = Static<typeof Session>;
export const CreateUserBody = Type.Object(
  { email: Type.String({ maxLength: 254 }), password: Type.String({ minLength: 8, maxLength: 1024 }), role: Role, tenantId: Type.Optional(Id) },
  { additionalProperties: false },
);
export const PatchUserBody = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 254 })),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
    role: Type.Optional(Role),
    disabled: Type.Optional(Type.Boolean({ description: 'Disable (true) or enable the account; a disabled user cannot log in and their tokens, API keys and MQTT connections stop working' })),
  },
  { additionalProperties: false },
);
export const Tenant = Type.Object({ id: Id, name: Type.String(), createdAt: Ms });
export type Tenant = Static<typeof Tenant>;
export const TenantBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
export const ApiKey = Type.Object({
  id: Id,
  tenantId: Id,
  userId: Id,
  name: Type.String(),
  prefix: Type.String(),
  createdAt: Ms,
  lastUsedAt: Type.Union([Ms, Type.Null()]),
  revokedAt: Type.Union([Ms, Type.Null()]),
});
export const ApiKeyCreated = Type.Intersect([ApiKey, Type.Object({ key: Type.String({ description: 'Shown once; store it now' }) })]);
export const ApiKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });

// Devices
export const DeviceProfile = Type.Object({
  id: Id,
  tenantId: Id,
  name: Type.String(),
  description: Type.String(),
  defaultSettings: Obj,
  isDefault: Type.Boolean(),
  createdAt: Ms,
});
export type DeviceProfile = Static<typeof DeviceProfile>;
export const CreateProfileBody = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 255 }), description: Type.Optional(Type.String({ maxLength: 4096 })), defaultSettings: Type.Optional(Obj), tenantId: Type.Optional(Id) },
  { additionalProperties: false },
);
export const PatchProfileBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), description: Type.Optional(Type.String({ maxLength: 4096 })), defaultSettings: Type.Optional(Obj) },
  { additionalProperties: false },
);
export const Device = Type.Object({ id: Id, tenantId: Id, profileId: Id, name: Type.String(), label: Type.String(), metadata: Obj, createdAt: Ms });
export type Device = Static<typeof Device>;
export const CreateDeviceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    label: Type.Optional(Type.String({ maxLength: 255 })),
    profileId: Type.Optional(Id),
    metadata: Type.Optional(Obj),
    tenantId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export const PatchDeviceBody = Type.Object(
  { name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })), label: Type.Optional(Type.String({ maxLength: 255 })), profileId: Type.Optional(Id), metadata: Type.Optional(Obj) },
  { additionalProperties: false },
);
export const DeviceListQuery = Type.Intersect([PageQuery, Type.Object({ profileId: Type.Optional(Id) })]);
export const DeviceCredentials = Type.Union([
  Type.Object({ deviceId: Id, type: Type.Literal('access-token'), accessToken: Type.String() }),
  Type.Object({ deviceId: Id, type: Type.Literal('mqtt-basic'), clientId: Type.Union([Type.String(), Type.Null()]), username: Type.Union([Type.String(), Type.Null()]), hasPassword: Type.Boolean() }),
]);
export type DeviceCredentials = Static<typeof DeviceCredentials>;
export const RotateCredentialsBody = Type.Union([
  Type.Object({ type: Type.Literal('access-token'), accessToken: Type.Optional(Type.String({ minLength: 20, maxLength: 128 })) }, { additionalProperties: false }),
  Type.Object(
    {
      type: Type.Literal('mqtt-basic'),
      clientId: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      username: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
      password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    },
    { additionalProperties: false },
  ),
]);

// Telemetry
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
export const LatestResult = Type.Object({ data: AnyKeys(TimedValue) });
export const KeysResult = Type.Object({ keys: Type.Array(Type.String()) });
export const Connectivity = Type.Object({
  connected: Type.Boolean({ description: 'An MQTT session of the device is open on this node' }),
  sessions: Type.Integer(),
  lastConnectAt: Type.Union([Ms, Type.Null()]),
  lastDisconnectAt: Type.Union([Ms, Type.Null()]),
  lastActivityAt: Type.Union([Ms, Type.Null()], { description: 'Last message from the device (written every few seconds)' }),
});
export const Health = Type.Object({ status: Type.Union([Type.Literal('ok'), Type.Literal('error')]), checks: AnyKeys(Type.String()), uptimeSec: Type.Number() });
