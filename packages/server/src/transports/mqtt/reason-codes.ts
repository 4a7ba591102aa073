import { ReasonCode } from '@thingstead/broker';
import { isThingsteadError, type ErrorName } from '@thingstead/core';

/**
 * The MQTT 5 PUBACK/PUBREC reason code of every error kind a device's PUBLISH can be refused with: the one place
 * the MQTT boundary decides reason codes (v5 spec §3.4.2.1). A kind not listed is no refusal of the message but
 * a fault: the hook rethrows it and the broker closes that connection without an acknowledgement.
 */
const publishReasonCodes: Partial<Record<ErrorName, number>> = {
  TELEMETRY_INVALID: ReasonCode.PayloadFormatInvalid,
  UNAVAILABLE: ReasonCode.QuotaExceeded,
  TELEMETRY_KEY_LIMIT: ReasonCode.QuotaExceeded,
  ATTRIBUTES_INVALID: ReasonCode.PayloadFormatInvalid,
  ATTRIBUTE_LIMIT: ReasonCode.QuotaExceeded,
  RPC_INVALID: ReasonCode.PayloadFormatInvalid,
  GATEWAY_INVALID: ReasonCode.PayloadFormatInvalid,
  GATEWAY_CHILD_REFUSED: ReasonCode.NotAuthorized,
  GATEWAY_LIMIT: ReasonCode.QuotaExceeded,
};

/** The negative acknowledgement for an error of onPublish, or undefined when the error is to be rethrown. */
export function mqttReasonFor(error: unknown): { reasonCode: number; reasonString: string } | undefined {
  if (!isThingsteadError(error)) return undefined;
  const reasonCode = publishReasonCodes[error.kind];
  return reasonCode === undefined ? undefined : { reasonCode, reasonString: error.message };
}

/** For the error reference: the reason codes above with the kinds that get them. */
export function publishReasonCodeTable(): { reasonCode: number; kinds: ErrorName[] }[] {
  const byCode = new Map<number, ErrorName[]>();
  for (const [kind, code] of Object.entries(publishReasonCodes) as [ErrorName, number][]) byCode.set(code, [...(byCode.get(code) ?? []), kind]);
  return [...byCode].map(([reasonCode, kinds]) => ({ reasonCode, kinds }));
}

/** The other reason codes the platform sends over MQTT, for the error reference (docs/reference/errors.md). */
export const connectionReasonCodes: readonly { packet: string; reasonCode: number; meaning: string }[] = [
  { packet: 'CONNACK', reasonCode: ReasonCode.NotAuthorized, meaning: 'Unknown device credentials, or an invalid or revoked API key (3.1.1: return code 5).' },
  { packet: 'CONNACK', reasonCode: ReasonCode.ServerUnavailable, meaning: 'The server is shutting down and takes no new connections (3.1.1: return code 3).' },
  {
    packet: 'PUBACK',
    reasonCode: ReasonCode.NotAuthorized,
    meaning:
      'A device published outside its own device API topics (v1/gateway/... when it is no gateway), or an application published (3.1.1: acknowledged and dropped).',
  },
  {
    packet: 'SUBACK',
    reasonCode: ReasonCode.NotAuthorized,
    meaning:
      "The filter is not one this principal may use: a device only its own topics (a gateway also v1/gateway/attributes, .../attributes/response and v1/gateway/rpc), an application only its tenant's; never `#` or `$SYS/#`.",
  },
  {
    packet: 'DISCONNECT',
    reasonCode: ReasonCode.NotAuthorized,
    meaning:
      'What the connection was authorized by ended: API key revoked, device credentials changed, device made a gateway or no longer one, user disabled, demoted or deleted, device or tenant deleted.',
  },
  { packet: 'DISCONNECT', reasonCode: ReasonCode.ServerShuttingDown, meaning: 'The server is shutting down; reconnect later.' },
];
