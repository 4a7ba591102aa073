import { Type, type Static } from '@sinclair/typebox';
import { Id, Ms } from './common';

/** Tenants, users and API keys. */
export const Role = Type.Union([Type.Literal('admin'), Type.Literal('tenant-admin'), Type.Literal('viewer')]);

export const User = Type.Object({ id: Id, tenantId: Id, email: Type.String(), role: Role, disabled: Type.Boolean(), createdAt: Ms });
export type User = Static<typeof User>;
export const CreateUserBody = Type.Object(
  { email: Type.String({ maxLength: 254 }), password: Type.String({ minLength: 8, maxLength: 1024 }), role: Role, tenantId: Type.Optional(Id) },
  { additionalProperties: false },
);
export const PatchUserBody = Type.Object(
  {
    email: Type.Optional(Type.String({ maxLength: 254 })),
    password: Type.Optional(Type.String({ minLength: 8, maxLength: 1024 })),
    role: Type.Optional(Role),
    disabled: Type.Optional(
      Type.Boolean({
        description: 'Disable (true) or enable the account; a disabled user cannot log in and their tokens, API keys and MQTT connections stop working',
      }),
    ),
  },
  { additionalProperties: false },
);
export const Tenant = Type.Object({ id: Id, name: Type.String(), createdAt: Ms });
export type Tenant = Static<typeof Tenant>;
export const TenantBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
export const PatchTenantBody = Type.Partial(TenantBody);
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
export const ApiKeyList = Type.Object({ items: Type.Array(ApiKey) });
export const ApiKeyBody = Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }, { additionalProperties: false });
