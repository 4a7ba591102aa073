import { Type, type Static } from '@sinclair/typebox';
import { Id, Ms, Obj } from './common';
import { PageQuery } from './paging';

/** Device profiles, devices, their credentials and connectivity. */
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
  {
    name: Type.String({ minLength: 1, maxLength: 255 }),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    defaultSettings: Type.Optional(Obj),
    tenantId: Type.Optional(Id),
  },
  { additionalProperties: false },
);
export const PatchProfileBody = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Type.String({ maxLength: 4096 })),
    defaultSettings: Type.Optional(Obj),
  },
  { additionalProperties: false },
);
const gatewayFlag = Type.Boolean({
  description: 'A gateway connects child devices over its own MQTT connection (the gateway API, v1/gateway/...); a change ends its connections',
});
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
  connected: Type.Boolean({ description: 'An MQTT session of the device is open on this node' }),
  sessions: Type.Integer(),
  lastConnectAt: Type.Union([Ms, Type.Null()]),
  lastDisconnectAt: Type.Union([Ms, Type.Null()]),
  lastActivityAt: Type.Union([Ms, Type.Null()], { description: 'Last message from the device (written every few seconds)' }),
});
