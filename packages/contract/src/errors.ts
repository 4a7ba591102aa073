import { Type, type Static } from '@sinclair/typebox';
import { Obj } from './common';

/** The one JSON shape of every HTTP error (docs/reference/errors.md). */
export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'Stable error code, e.g. THINGSTEAD_ERR_NOT_FOUND (docs/reference/errors.md)' }),
  error: Type.String({ description: 'HTTP reason phrase' }),
  message: Type.String(),
  hint: Type.String({ description: 'What to do about it' }),
  details: Type.Optional(Obj),
});
export type ErrorBody = Static<typeof ErrorBody>;
