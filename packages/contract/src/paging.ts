import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Every numeric query parameter is bounded, so none reaches the database as a float (offset=1e20 once did). */
export const maxOffset = 1_000_000_000;

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
