import type { BrokerLimits, StandaloneOptions } from '@thingstead/broker';
import type { AuthOptions, TelemetrySettings } from '@thingstead/core';
import type { Config } from './schema';

/**
 * Each component declares its options with the names of the settings it reads, and is handed its section of
 * the config (or a part of it) as is: one setting, one name, from the schema to its use. Core and the broker
 * cannot import this config (they import nothing of the workspace), so the compiler checks here that every
 * section fits the options it is passed as.
 */

/** True when C can be passed as T and every option T names, optional ones too, is a setting of C. */
type IsSliceOf<C, T> = [C] extends [T] ? ([Exclude<keyof T, keyof C>] extends [never] ? true : false) : false;
type Assert<T extends true> = T;

/** The broker limits the config sets; each is read by the same name from the `mqtt` or `broker` section. */
const brokerLimitNames = [
  'maxPacketBytes',
  'maxConnections',
  'maxQueuedMessages',
  'connectTimeoutMs',
  'maxPendingMessagesPerClient',
  'maxKeepAliveSec',
  'maxSessionsPerPrincipal',
] as const satisfies readonly (keyof BrokerLimits)[];
type BrokerLimitName = (typeof brokerLimitNames)[number];

/** The broker limits a config section sets (the other settings of the section are not limits). */
export function brokerLimits(section: Readonly<Partial<Record<BrokerLimitName, number>>>): Partial<BrokerLimits> {
  const limits: Partial<BrokerLimits> = {};
  for (const name of brokerLimitNames) {
    const value = section[name];
    if (value !== undefined) limits[name] = value;
  }
  return limits;
}

/** What `thingstead broker` passes to startStandaloneBroker besides the limits, straight from `broker`. */
export type StandaloneSettings = Omit<StandaloneOptions, 'limits' | 'log'>;

export type ConfigSlices = [
  Assert<IsSliceOf<Config['telemetry'], TelemetrySettings>>,
  Assert<IsSliceOf<Config['auth'], AuthOptions>>,
  Assert<IsSliceOf<Config['mqtt'], Pick<BrokerLimits, BrokerLimitName>>>,
  Assert<IsSliceOf<Config['broker'], StandaloneSettings & Pick<BrokerLimits, Exclude<BrokerLimitName, 'maxPendingMessagesPerClient'>>>>,
];
