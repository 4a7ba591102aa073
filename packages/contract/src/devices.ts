import { Type, type Static } from '@sinclair/typebox';
import { Id, Ms, Obj } from './common';
import { PageQuery } from './paging';

/** A profile's inactivity timeout: whole seconds, 1 s to 30 days (core's maxInactivityTimeoutSec). */
const InactivityTimeoutSec = Type.Integer({
  minimum: 1,
  maximum: 2_592_000,
  description: 'A device of this profile that sends nothing for this many seconds is inactive (a device.connectivity event); 600 when not given',
});

/** Device profiles, devices, their credentials and connectivity. */
export const DeviceProfile = Type.Object({
  id: Id,
  tenantId: Id,
  name: Type.String(),
  description: Type.String(),
  defaultSettings: Obj,
  inactivityTimeoutSec: InactivityTimeoutSec,
  isDefault: Type.Boolean(),
  createdAt: Ms,
});
export type DeviceProfile = Static<typeof DeviceProfile>;
export const CreateProfileBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    defaultSettings: Type.Optional(Obj),
    inactivityTimeoutSec: Type.Optional(InactivityTimeoutSec),
    tenantId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export const PatchProfileBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    defaultSettings: Type.Optional(Obj),
    inactivityTimeoutSec: Type.Optional(InactivityTimeoutSec),
  },
  { additionalProperties: false },
);
const gatewayFlag = Type.Boolean({
  description: 'A gateway connects child devices over its own MQTT connection (the gateway API, v1/gateway/...); a change ends its connections',
});
const Never = (what: string) => Type.Union([Ms, Type.Null()], { description: `${what}; null if never` });
/** A device's connectivity fields, in the device JSON and in GET /api/devices/{id}/connectivity. */
const ConnectivityFields = {
  connected: Type.Boolean({ description: 'An MQTT session of the device is open on this node' }),
  active: Type.Boolean({ description: "The device sent (or connected) within its profile's inactivityTimeoutSec" }),
  lastConnectAt: Never('Last MQTT connect'),
  lastDisconnectAt: Never('Last MQTT disconnect'),
  lastActivityAt: Never('Last message from the device over any transport (stored every few seconds)'),
};
export const Device = Type.Object({
  id: Id,
  tenantId: Id,
  profileId: Id,
  name: Type.String(),
  label: Type.String(),
  metadata: Obj,
  createdAt: Ms,
  gateway: gatewayFlag,
  gatewayId: Type.Union([Id, Type.Null()], { description: 'The gateway that created this device and reaches it; null for a device on its own' }),
  ...ConnectivityFields,
});
export type Device = Static<typeof Device>;
export const CreateDeviceBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    label: Type.Optional(Type.String({ maxLength: 255 })),
    profileId: Type.Optional(Id),
    metadata: Type.Optional(Obj),
    tenantId: Type.Optional(Id),
    gateway: Type.Optional(gatewayFlag),
  },
  { additionalProperties: false },
);
export const PatchDeviceBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    label: Type.Optional(Type.String({ maxLength: 255 })),
    profileId: Type.Optional(Id),
    metadata: Type.Optional(Obj),
    gateway: Type.Optional(gatewayFlag),
  },
  { additionalProperties: false },
);
export const DeviceListQuery = Type.Intersect([
  PageQuery,
  Type.Object({
    profileId: Type.Optional(Id),
    gatewayId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Only the children of this gateway' })),
    connected: Type.Optional(Type.Boolean({ description: 'Only devices with (true) or without (false) an open MQTT session' })),
    active: Type.Optional(Type.Boolean({ description: "Only devices that sent (true) or did not send (false) within their profile's inactivity timeout" })),
  }),
]);
export const DeviceCredentials = Type.Union([
  Type.Object({ deviceId: Id, type: Type.Literal('access-token'), accessToken: Type.String() }),
  Type.Object({
    deviceId: Id,
    type: Type.Literal('mqtt-basic'),
    clientId: Type.Union([Type.String(), Type.Null()]),
    username: Type.Union([Type.String(), Type.Null()]),
    hasPassword: Type.Boolean(),
  }),
]);
export type DeviceCredentials = Static<typeof DeviceCredentials>;
export const RotateCredentialsBody = Type.Union([
  Type.Object(
    { type: Type.Literal('access-token'), accessToken: Type.Optional(Type.String({ minLength: 20, maxLength: 128 })) },
    { additionalProperties: false },
  ),
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

export const Connectivity = Type.Object({
  ...ConnectivityFields,
  sessions: Type.Integer({ description: 'Open MQTT sessions of the device on this node' }),
});
