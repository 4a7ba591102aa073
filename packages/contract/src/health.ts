import { Type } from '@sinclair/typebox';
import { AnyKeys } from './common';

/** GET /healthz. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  checks: AnyKeys(Type.String()),
  uptimeSec: Type.Number(),
});
