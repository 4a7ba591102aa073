import type { ConditionSpec, ConditionType } from '../model';
import { anomalyCondition } from './anomaly';
import { durationCondition } from './duration';
import { expressionCondition } from './expression';
import { forecastCondition } from './forecast';
import { allCondition, anyCondition, notCondition } from './logic';
import { nodataCondition } from './nodata';
import { repeatCondition } from './repeat';
import { thresholdCondition } from './threshold';
import type { ConditionDef } from './types';
import { windowCondition } from './window';

/** Every condition type; adding one is its file plus one line here (DESIGN.md invariant 10). */
export const conditionRegistry: { readonly [T in ConditionType]: ConditionDef<Extract<ConditionSpec, { type: T }>> } = {
  expression: expressionCondition,
  threshold: thresholdCondition,
  duration: durationCondition,
  repeat: repeatCondition,
  window: windowCondition,
  nodata: nodataCondition,
  anomaly: anomalyCondition,
  forecast: forecastCondition,
  all: allCondition,
  any: anyCondition,
  not: notCondition,
};

export type { ConditionDef, ConditionNode, EvalContext, NodeFactory } from './types';
