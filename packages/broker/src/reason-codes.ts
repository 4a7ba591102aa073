// The broker's error and reason-code catalogue. MQTT 5 reason codes are the
// broker's internal vocabulary (v5 spec §2.4); 3.1.1 clients get them mapped
// to the older return codes at the wire boundary.

export const ReasonCode = {
  Success: 0x00,
  GrantedQos1: 0x01,
  GrantedQos2: 0x02,
  DisconnectWithWill: 0x04,
  NoMatchingSubscribers: 0x10,
  NoSubscriptionExisted: 0x11,
  UnspecifiedError: 0x80,
  MalformedPacket: 0x81,
  ProtocolError: 0x82,
  ImplementationSpecificError: 0x83,
  UnsupportedProtocolVersion: 0x84,
  ClientIdentifierNotValid: 0x85,
  BadUserNameOrPassword: 0x86,
  NotAuthorized: 0x87,
  ServerUnavailable: 0x88,
  ServerBusy: 0x89,
  Banned: 0x8a,
  ServerShuttingDown: 0x8b,
  BadAuthenticationMethod: 0x8c,
  KeepAliveTimeout: 0x8d,
  SessionTakenOver: 0x8e,
  TopicFilterInvalid: 0x8f,
  TopicNameInvalid: 0x90,
  PacketIdentifierInUse: 0x91,
  PacketIdentifierNotFound: 0x92,
  ReceiveMaximumExceeded: 0x93,
  TopicAliasInvalid: 0x94,
  PacketTooLarge: 0x95,
  MessageRateTooHigh: 0x96,
  QuotaExceeded: 0x97,
  AdministrativeAction: 0x98,
  PayloadFormatInvalid: 0x99,
  RetainNotSupported: 0x9a,
  QosNotSupported: 0x9b,
  UseAnotherServer: 0x9c,
  ServerMoved: 0x9d,
  SharedSubscriptionsNotSupported: 0x9e,
  ConnectionRateExceeded: 0x9f,
  MaximumConnectTime: 0xa0,
  SubscriptionIdentifiersNotSupported: 0xa1,
  WildcardSubscriptionsNotSupported: 0xa2,
} as const;

export type ReasonCodeValue = (typeof ReasonCode)[keyof typeof ReasonCode];

/** MQTT 3.1.1 CONNACK return codes (3.1.1 §3.2.2.3). */
export const ConnackReturnCode = {
  Accepted: 0,
  UnacceptableProtocolVersion: 1,
  IdentifierRejected: 2,
  ServerUnavailable: 3,
  BadUserNameOrPassword: 4,
  NotAuthorized: 5,
} as const;

/** Maps a v5 CONNACK reason code to the closest 3.1.1 return code. */
export function toV3ConnackCode(reasonCode: number): number {
  switch (reasonCode) {
    case ReasonCode.Success:
      return ConnackReturnCode.Accepted;
    case ReasonCode.UnsupportedProtocolVersion:
      return ConnackReturnCode.UnacceptableProtocolVersion;
    case ReasonCode.ClientIdentifierNotValid:
      return ConnackReturnCode.IdentifierRejected;
    case ReasonCode.ServerUnavailable:
    case ReasonCode.ServerBusy:
    case ReasonCode.ServerShuttingDown:
    case ReasonCode.QuotaExceeded:
    case ReasonCode.ConnectionRateExceeded:
    case ReasonCode.UseAnotherServer:
    case ReasonCode.ServerMoved:
      return ConnackReturnCode.ServerUnavailable;
    case ReasonCode.BadUserNameOrPassword:
      return ConnackReturnCode.BadUserNameOrPassword;
    default:
      return ConnackReturnCode.NotAuthorized;
  }
}

export type BrokerErrorCode =
  | 'THINGSTEAD_ERR_BROKER_MALFORMED_PACKET'
  | 'THINGSTEAD_ERR_BROKER_PROTOCOL_ERROR'
  | 'THINGSTEAD_ERR_BROKER_PACKET_TOO_LARGE'
  | 'THINGSTEAD_ERR_BROKER_TOPIC_INVALID'
  | 'THINGSTEAD_ERR_BROKER_CLOSED'
  | 'THINGSTEAD_ERR_BROKER_PERSISTENCE'
  | 'THINGSTEAD_ERR_BROKER_STATE_INVALID'
  | 'THINGSTEAD_ERR_BROKER_MESSAGE_INVALID'
  | 'THINGSTEAD_ERR_BROKER_ACL_SYNTAX'
  | 'THINGSTEAD_ERR_BROKER_PASSWORD_FILE';

/** The hint of each broker error code (also rendered into docs/reference/errors.md). */
export const brokerErrorHints: Record<BrokerErrorCode, string> = {
  THINGSTEAD_ERR_BROKER_MALFORMED_PACKET: 'The client sent bytes that are not a valid MQTT packet; check the client library.',
  THINGSTEAD_ERR_BROKER_PROTOCOL_ERROR: 'The client broke an MQTT rule (see the reason code); check the client library.',
  THINGSTEAD_ERR_BROKER_PACKET_TOO_LARGE: 'Raise limits.maxPacketBytes or send smaller messages.',
  THINGSTEAD_ERR_BROKER_TOPIC_INVALID: 'Topic names must be valid UTF-8 without wildcards or U+0000.',
  THINGSTEAD_ERR_BROKER_CLOSED: 'The broker was closed; create a new one.',
  THINGSTEAD_ERR_BROKER_PERSISTENCE: 'The persistence adapter failed; check the database file and disk space.',
  THINGSTEAD_ERR_BROKER_STATE_INVALID:
    'A stored retained message or session could not be used and was dropped; nothing to do unless it repeats (then report it).',
  THINGSTEAD_ERR_BROKER_MESSAGE_INVALID: 'Message properties must be of the MQTT 5 types (strings well-formed, user property values strings); fix the caller.',
  THINGSTEAD_ERR_BROKER_ACL_SYNTAX: 'Fix the ACL file line shown in the message (Mosquitto acl_file syntax).',
  THINGSTEAD_ERR_BROKER_PASSWORD_FILE: 'Fix the password file line shown (username:hash as written by mosquitto_passwd).',
};

/** A typed broker error; `reasonCode` is the v5 code sent to the client, when one applies. */
export class BrokerError extends Error {
  readonly code: BrokerErrorCode;
  readonly reasonCode: number;
  readonly hint: string;

  constructor(code: BrokerErrorCode, message: string, options: { reasonCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BrokerError';
    this.code = code;
    this.reasonCode = options.reasonCode ?? ReasonCode.UnspecifiedError;
    this.hint = brokerErrorHints[code];
  }
}
