import { Type, type Static } from '@sinclair/typebox';
import { AnyKeys, Id, Ms, Obj } from './common';

/** Device attributes (client, server, shared scopes) and the twin. Values are checked by core (the telemetry rules). */
export const AttributeScope = Type.Union([Type.Literal('client'), Type.Literal('server'), Type.Literal('shared')], {
  description: 'client: reported by the device (read-only to users); server: never shown to the device; shared: desired state, pushed to the device',
});
export type AttributeScope = Static<typeof AttributeScope>;
export const StoredAttribute = Type.Object({
  value: Type.Unknown({ description: 'number, string, boolean or JSON object' }),
  updatedAt: Ms,
});
export const AttributeMap = AnyKeys(StoredAttribute, { description: 'key -> {value, updatedAt}' });
export const Version = Type.Integer({ minimum: 0, description: "The device's attribute version: one more with every write that changed any attribute" });

export const AttributeScopeParams = Type.Object({ id: Id, scope: AttributeScope });
export const AttributesQuery = Type.Object({
  scope: Type.Optional(AttributeScope),
  keys: Type.Optional(Type.String({ maxLength: 8192, description: 'Comma-separated keys; all keys when absent' })),
});
export const DeleteAttributesQuery = Type.Object({ keys: Type.String({ minLength: 1, maxLength: 8192, description: 'Comma-separated keys to delete' }) });
export const AttributesResult = Type.Object({
  version: Version,
  client: Type.Optional(AttributeMap),
  server: Type.Optional(AttributeMap),
  shared: Type.Optional(AttributeMap),
});
export const SetAttributesBody = AnyKeys(Type.Unknown(), { description: 'key -> value (number, string, boolean or JSON object)' });
export const AttributeChange = Type.Object({
  version: Version,
  updated: Type.Array(Type.String(), { description: 'Keys set' }),
  deleted: Type.Array(Type.String(), { description: 'Keys deleted (a key that did not exist is not listed)' }),
});

export const Twin = Type.Object({
  version: Version,
  desired: AttributeMap,
  reported: AttributeMap,
  delta: AnyKeys(StoredAttribute, { description: 'Desired keys whose reported value is missing or differs: the desired value and its time' }),
});
export type Twin = Static<typeof Twin>;
export const PatchDesiredBody = Type.Object(
  {
    version: Type.Integer({ minimum: 0, description: 'The version of the twin this change is based on; another answers 409' }),
    desired: Obj,
  },
  { additionalProperties: false, description: 'desired: key -> value, or null to delete the key' },
);
