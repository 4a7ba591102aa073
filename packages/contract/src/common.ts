/** Building blocks of the schemas of every feature. */
import { Type, type ObjectOptions, type Static, type TSchema } from '@sinclair/typebox';

export const Id = Type.String({ minLength: 1, maxLength: 64, description: 'Identifier' });
export const Ms = Type.Integer({ description: 'Milliseconds since 1970-01-01T00:00:00Z' });
/**
 * A JSON object with any keys: Type.Record with its key pattern ^(.*)$ replaced, because `.` does not match a
 * line break (\n, U+2028, U+2029) and fastify's response serialiser silently dropped keys that do not match,
 * so metadata sent as {"\u2028":1} came back as {} (found by the HTTP fuzzer).
 */
export const AnyKeys = <T extends TSchema>(value: T, options: ObjectOptions = {}) => {
  const record = Type.Record(Type.String(), value, options);
  return { ...record, patternProperties: { '^[\\s\\S]*$': value } } as typeof record;
};
export const Obj = AnyKeys(Type.Unknown());

export const IdParams = Type.Object({ id: Id });
export type IdParams = Static<typeof IdParams>;
