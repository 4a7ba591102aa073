import type { ActionSpec, ActionType } from '../model';
import { attributesAction, rpcAction } from './actuation';
import { alarmAction, clearAlarmAction } from './alarm';
import { notifyAction, republishAction, webhookAction } from './outbound';
import { telemetryAction } from './telemetry';
import type { ActionDef } from './types';

/** Every action type; adding one is its file plus one line here (DESIGN.md invariant 10). */
export const actionRegistry: { readonly [T in ActionType]: ActionDef<Extract<ActionSpec, { type: T }>> } = {
  alarm: alarmAction,
  'clear-alarm': clearAlarmAction,
  rpc: rpcAction,
  attributes: attributesAction,
  telemetry: telemetryAction,
  notify: notifyAction,
  republish: republishAction,
  webhook: webhookAction,
};

export type { ActionContext, ActionDef, ActionPorts, ActionState, PlannedAction } from './types';
