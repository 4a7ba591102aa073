// MQTT 5 properties a client may send, with their data type and the packets that may carry
// them (v5 §2.2.2.2, Table 2-4). Properties only a server sends (Assigned Client Identifier,
// Server Keep Alive, Response Information, Maximum QoS, Retain Available, the "... Available"
// flags) are valid in no client packet, so a client that sends one sends a malformed packet.

export const packetKind = {
  connect: 1,
  publish: 3,
  puback: 4,
  pubrec: 5,
  pubrel: 6,
  pubcomp: 7,
  subscribe: 8,
  unsubscribe: 10,
  disconnect: 14,
  auth: 15,
  /** The Will Properties inside CONNECT. */
  will: 16,
} as const;

export type PacketKind = (typeof packetKind)[keyof typeof packetKind];

export type PropertyType = 'byte' | 'two' | 'four' | 'var' | 'utf8' | 'binary' | 'pair';

export interface PropertySpec {
  name: string;
  type: PropertyType;
  /** Bit set of the PacketKinds that may carry the property. */
  allowedIn: number;
}

const k = packetKind;
const inKinds = (...kinds: PacketKind[]): number => kinds.reduce((mask, kind) => mask | (1 << kind), 0);
const message = inKinds(k.publish, k.will);

const table: [number, string, PropertyType, number][] = [
  [0x01, 'Payload Format Indicator', 'byte', message],
  [0x02, 'Message Expiry Interval', 'four', message],
  [0x03, 'Content Type', 'utf8', message],
  [0x08, 'Response Topic', 'utf8', message],
  [0x09, 'Correlation Data', 'binary', message],
  // Allowed in PUBLISH by the table, but a client must not send it there [MQTT-3.3.4-6]; checked by the walker.
  [0x0b, 'Subscription Identifier', 'var', inKinds(k.publish, k.subscribe)],
  [0x11, 'Session Expiry Interval', 'four', inKinds(k.connect, k.disconnect)],
  [0x15, 'Authentication Method', 'utf8', inKinds(k.connect, k.auth)],
  [0x16, 'Authentication Data', 'binary', inKinds(k.connect, k.auth)],
  [0x17, 'Request Problem Information', 'byte', inKinds(k.connect)],
  [0x18, 'Will Delay Interval', 'four', inKinds(k.will)],
  [0x19, 'Request Response Information', 'byte', inKinds(k.connect)],
  [0x1c, 'Server Reference', 'utf8', inKinds(k.disconnect)],
  [0x1f, 'Reason String', 'utf8', inKinds(k.puback, k.pubrec, k.pubrel, k.pubcomp, k.disconnect, k.auth)],
  [0x21, 'Receive Maximum', 'two', inKinds(k.connect)],
  [0x22, 'Topic Alias Maximum', 'two', inKinds(k.connect)],
  [0x23, 'Topic Alias', 'two', inKinds(k.publish)],
  [
    0x26,
    'User Property',
    'pair',
    inKinds(k.connect, k.publish, k.will, k.puback, k.pubrec, k.pubrel, k.pubcomp, k.subscribe, k.unsubscribe, k.disconnect, k.auth),
  ],
  [0x27, 'Maximum Packet Size', 'four', inKinds(k.connect)],
];

/** Property specs by identifier (all identifiers of v5 fit in one byte). */
export const propertySpecs: readonly (PropertySpec | undefined)[] = (() => {
  const specs: (PropertySpec | undefined)[] = new Array<PropertySpec | undefined>(0x30).fill(undefined);
  for (const [id, name, type, allowedIn] of table) specs[id] = { name, type, allowedIn };
  return specs;
})();

export const userPropertyId = 0x26;

export const kindNames: Record<PacketKind, string> = {
  1: 'CONNECT',
  3: 'PUBLISH',
  4: 'PUBACK',
  5: 'PUBREC',
  6: 'PUBREL',
  7: 'PUBCOMP',
  8: 'SUBSCRIBE',
  10: 'UNSUBSCRIBE',
  14: 'DISCONNECT',
  15: 'AUTH',
  16: 'Will Properties',
};

const set = (codes: number[]): ReadonlySet<number> => new Set(codes);

/** Reason codes a client may send, per packet (v5 §3.4.2.1, §3.5.2.1, §3.6.2.1, §3.7.2.1, §3.14.2.1, §3.15.2.1). */
export const clientReasonCodes: Partial<Record<PacketKind, ReadonlySet<number>>> = {
  4: set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
  5: set([0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99]),
  6: set([0x00, 0x92]),
  7: set([0x00, 0x92]),
  // Every code Table 3-10 defines for DISCONNECT; the connection ends either way.
  14: set([
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f,
    0xa0, 0xa1, 0xa2,
  ]),
  15: set([0x00, 0x18, 0x19]),
};
