import { isUtf8 } from 'node:buffer';
import { ReasonCode } from '../reason-codes';
import { clientReasonCodes, kindNames, packetKind, propertySpecs, userPropertyId, type PacketKind } from './properties';

/** Why a packet is refused: 0x81 Malformed Packet or 0x82 Protocol Error, and a message for logs and reason strings. */
export interface Violation {
  reasonCode: number;
  message: string;
}

const malformed = ReasonCode.MalformedPacket;
const protocolError = ReasonCode.ProtocolError;

/**
 * Walks the raw bytes of one client packet and checks every field before mqtt-packet decodes
 * it: mqtt-packet yields -1 for a missing packet identifier and null for a string or binary that
 * overruns the packet, merges duplicate properties into arrays, and accepts identifiers that are
 * not valid for the packet type. After `FrameCheck` passes, the decoded packet holds only values
 * of the right type and range.
 *
 * One instance per connection, reused for every frame (no allocation per packet).
 */
export class FrameCheck {
  private frame: Buffer = Buffer.alloc(0);
  private pos = 0;
  private end = 0;
  private violation: Violation | undefined;
  private readonly seen = new Uint8Array(0x30);

  private start(frame: Buffer, pos: number): void {
    this.frame = frame;
    this.pos = pos;
    this.end = frame.length;
    this.violation = undefined;
  }

  private fail(reasonCode: number, message: string): false {
    this.violation ??= { reasonCode, message };
    return false;
  }

  private need(n: number, what: string): boolean {
    return this.pos + n <= this.end || this.fail(malformed, `${what} overruns the packet`);
  }

  private u8(what: string): number {
    if (!this.need(1, what)) return -1;
    return this.frame[this.pos++] ?? -1;
  }

  private u16(what: string): number {
    if (!this.need(2, what)) return -1;
    const v = this.frame.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  /** Variable Byte Integer (v5 §1.5.5): at most 4 bytes. */
  private varInt(what: string): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(what);
      if (b < 0) return -1;
      value += (b & 0x7f) * mul;
      if (b < 0x80) return value;
      mul *= 128;
    }
    this.fail(malformed, `${what} is not a valid variable byte integer`);
    return -1;
  }

  /**
   * A UTF-8 Encoded String: well-formed [MQTT-1.5.4-1] (3.1.1 [MQTT-1.5.3-1]) and without U+0000
   * [MQTT-1.5.4-2] (3.1.1 [MQTT-1.5.3-2]). Topic names and filters may hold U+0000 here: the
   * topic rules refuse it with their own reason code ([MQTT-4.7.3-2], 0x90 / 0x8F).
   * Returns the string's bytes, or undefined.
   */
  private utf8(what: string, allowNul = false): Buffer | undefined {
    const len = this.u16(`length of the ${what}`);
    if (len < 0 || !this.need(len, what)) return undefined;
    const bytes = this.frame.subarray(this.pos, this.pos + len);
    this.pos += len;
    if (!isUtf8(bytes)) {
      this.fail(malformed, `ill-formed UTF-8 in the ${what}`);
      return undefined;
    }
    if (!allowNul && bytes.includes(0)) {
      this.fail(malformed, `U+0000 in the ${what}`);
      return undefined;
    }
    return bytes;
  }

  private binary(what: string): boolean {
    const len = this.u16(`length of the ${what}`);
    if (len < 0 || !this.need(len, what)) return false;
    this.pos += len;
    return true;
  }

  /** The property block at the cursor (v5 §2.2.2): identifiers, types, duplicates, values. */
  private properties(kind: PacketKind): boolean {
    const len = this.varInt('property length');
    if (len < 0) return false;
    const blockEnd = this.pos + len;
    if (blockEnd > this.end) return this.fail(malformed, `${kindNames[kind]} properties overrun the packet`);
    const outerEnd = this.end;
    // A value must end inside the property block: a length that runs past it is malformed.
    this.end = blockEnd;
    const seen = this.seen;
    seen.fill(0);
    let ok = true;
    while (ok && this.pos < blockEnd) {
      const id = this.frame[this.pos++] ?? 0;
      const spec = propertySpecs[id];
      // [MQTT-2.2.2-2] an identifier that is not valid for the packet type is a malformed packet.
      if (spec === undefined || (spec.allowedIn & (1 << kind)) === 0) {
        ok = this.fail(malformed, `property 0x${id.toString(16).padStart(2, '0')} is not valid in ${kindNames[kind]}`);
        break;
      }
      // Each property's own text (e.g. v5 §3.1.2.11.2, §3.3.2.3.2): "It is a Protocol Error to include
      // the <property> more than once"; only User Property may repeat (v5 §3.3.2.3.7).
      if (id !== userPropertyId && seen[id] === 1) {
        ok = this.fail(protocolError, `${spec.name} more than once in ${kindNames[kind]}`);
        break;
      }
      seen[id] = 1;
      ok = this.propertyValue(id, spec.name, spec.type, kind);
    }
    this.end = outerEnd;
    return ok;
  }

  private propertyValue(id: number, name: string, type: string, kind: PacketKind): boolean {
    switch (type) {
      case 'byte': {
        const v = this.u8(name);
        if (v < 0) return false;
        // Payload Format Indicator, Request Problem / Response Information are 0 or 1 (v5 §3.3.2.3.2, §3.1.2.11.6-7).
        return v <= 1 || this.fail(protocolError, `${name} must be 0 or 1`);
      }
      case 'two': {
        const v = this.u16(name);
        if (v < 0) return false;
        // v5 §3.1.2.11.3: a Receive Maximum of 0 is a Protocol Error. (Topic Alias 0 is refused
        // by the PUBLISH handler with 0x94 [MQTT-3.3.2-8].)
        return !(id === 0x21 && v === 0) || this.fail(protocolError, `${name} of 0`);
      }
      case 'four': {
        if (!this.need(4, name)) return false;
        const v = this.frame.readUInt32BE(this.pos);
        this.pos += 4;
        // v5 §3.1.2.11.4: a Maximum Packet Size of 0 is a Protocol Error.
        return !(id === 0x27 && v === 0) || this.fail(protocolError, `${name} of 0`);
      }
      case 'var': {
        const v = this.varInt(name);
        if (v < 0) return false;
        // [MQTT-3.3.4-6] a client's PUBLISH carries no Subscription Identifier; v5 §3.8.2.1.2: 0 is a Protocol Error.
        if (kind === packetKind.publish) return this.fail(protocolError, 'Subscription Identifier in a PUBLISH from a client');
        return v !== 0 || this.fail(protocolError, 'Subscription Identifier of 0');
      }
      case 'utf8': {
        const bytes = this.utf8(name);
        if (bytes === undefined) return false;
        // [MQTT-3.3.2-14] the Response Topic is a topic name: no wildcards.
        return !(id === 0x08 && (bytes.includes(0x2b) || bytes.includes(0x23))) || this.fail(protocolError, 'wildcard in the Response Topic');
      }
      case 'binary':
        return this.binary(name);
      default:
        return this.utf8(`${name} name`) !== undefined && this.utf8(`${name} value`) !== undefined;
    }
  }

  private atEnd(what: string): Violation | undefined {
    if (this.violation === undefined && this.pos !== this.end) this.fail(malformed, `bytes after the end of the ${what}`);
    return this.violation;
  }

  /** CONNECT after its protocol name and level were checked (v5 §3.1, 3.1.1 §3.1). */
  connect(frame: Buffer, headerLength: number): Violation | undefined {
    this.start(frame, headerLength);
    this.utf8('protocol name');
    const level = this.u8('protocol level') & 0x7f;
    const flags = this.u8('connect flags');
    this.u16('keep alive');
    if (this.violation !== undefined) return this.violation;
    const v5 = level === 5;
    const will = (flags & 0x04) !== 0;
    const willQos = (flags >> 3) & 3;
    // [MQTT-3.1.2-3] the reserved flag is 0.
    if ((flags & 0x01) !== 0) return { reasonCode: malformed, message: 'reserved connect flag set' };
    // [MQTT-3.1.2-11] [MQTT-3.1.2-13] (v5; 3.1.1 [MQTT-3.1.2-13] [MQTT-3.1.2-15]): no will, no will QoS or retain.
    if (!will && (willQos !== 0 || (flags & 0x20) !== 0)) return { reasonCode: malformed, message: 'will QoS or retain without a will' };
    // [MQTT-3.1.2-12] (v5; 3.1.1 [MQTT-3.1.2-14]): will QoS 3 is malformed.
    if (willQos === 3) return { reasonCode: malformed, message: 'will QoS 3' };
    // 3.1.1 [MQTT-3.1.2-22]: a password needs a user name (v5 allows a password alone).
    if (!v5 && (flags & 0xc0) === 0x40) return { reasonCode: malformed, message: 'password without a user name' };
    if (v5) this.properties(packetKind.connect);
    this.utf8('client identifier');
    if (will) {
      if (v5) this.properties(packetKind.will);
      this.utf8('will topic', true);
      this.binary('will payload');
    }
    if ((flags & 0x80) !== 0) this.utf8('user name');
    if ((flags & 0x40) !== 0) this.binary('password');
    return this.atEnd('CONNECT');
  }

  /** The property block of a v5 PUBLISH at `pos` (topic and packet id were read by the caller). */
  publishProperties(frame: Buffer, pos: number): Violation | undefined {
    this.start(frame, pos);
    this.properties(packetKind.publish);
    return this.violation;
  }

  /** PUBACK, PUBREC, PUBREL, PUBCOMP of any length (v5 §3.4-3.7, 3.1.1 §3.4-3.7). */
  ack(frame: Buffer, headerLength: number, kind: 4 | 5 | 6 | 7, v5: boolean): Violation | undefined {
    this.start(frame, headerLength);
    const name = kindNames[kind];
    const body = frame.length - headerLength;
    // 3.1.1 §3.4.1 (and §3.5.1, §3.6.1, §3.7.1): the Remaining Length is 2.
    if (!v5 && body !== 2) return { reasonCode: malformed, message: `${name} with a Remaining Length of ${body}` };
    const id = this.u16(`${name} packet identifier`);
    if (id < 0) return this.violation;
    // [MQTT-2.2.1-5] (3.1.1 [MQTT-2.3.1-6]) the id of a PUBLISH, which is never 0 [MQTT-2.2.1-4].
    if (id === 0) return { reasonCode: protocolError, message: `${name} with packet identifier 0` };
    if (body === 2) return undefined;
    const code = this.u8('reason code');
    if (!(clientReasonCodes[kind]?.has(code) ?? false))
      return { reasonCode: protocolError, message: `reason code 0x${code.toString(16)} is not valid in ${name}` };
    // v5 §3.4.2.2: no Property Length when the Remaining Length is less than 4.
    if (body >= 4) this.properties(kind);
    return this.atEnd(name);
  }

  /** SUBSCRIBE (v5 §3.8, 3.1.1 §3.8). */
  subscribe(frame: Buffer, headerLength: number, v5: boolean): Violation | undefined {
    this.start(frame, headerLength);
    if (!this.packetId('SUBSCRIBE') || (v5 && !this.properties(packetKind.subscribe))) return this.violation;
    // [MQTT-3.8.3-2] (3.1.1 [MQTT-3.8.3-3]): at least one subscription.
    if (this.pos === this.end) return { reasonCode: protocolError, message: 'SUBSCRIBE without filters' };
    while (this.pos < this.end) {
      if (this.utf8('topic filter', true) === undefined) return this.violation;
      const options = this.u8('subscription options');
      if (options < 0) return this.violation;
      if (v5) {
        // [MQTT-3.8.3-5] reserved bits 6-7 are 0; v5 §3.8.3.1: QoS 3 and Retain Handling 3 are Protocol Errors.
        if ((options & 0xc0) !== 0) return { reasonCode: malformed, message: 'reserved subscription option bits set' };
        if ((options & 3) === 3) return { reasonCode: protocolError, message: 'subscription with QoS 3' };
        if (((options >> 4) & 3) === 3) return { reasonCode: protocolError, message: 'Retain Handling 3' };
      } else if ((options & 0xfc) !== 0 || (options & 3) === 3) {
        // 3.1.1 [MQTT-3-8.3-4]: reserved bits set or QoS 3 is malformed.
        return { reasonCode: malformed, message: 'invalid requested QoS byte' };
      }
    }
    return undefined;
  }

  /** UNSUBSCRIBE (v5 §3.10, 3.1.1 §3.10). */
  unsubscribe(frame: Buffer, headerLength: number, v5: boolean): Violation | undefined {
    this.start(frame, headerLength);
    if (!this.packetId('UNSUBSCRIBE') || (v5 && !this.properties(packetKind.unsubscribe))) return this.violation;
    // [MQTT-3.10.3-2] at least one topic filter.
    if (this.pos === this.end) return { reasonCode: protocolError, message: 'UNSUBSCRIBE without filters' };
    while (this.pos < this.end) if (this.utf8('topic filter', true) === undefined) return this.violation;
    return undefined;
  }

  /** DISCONNECT (v5 §3.14) or AUTH (v5 §3.15): reason code and properties may be omitted. */
  disconnectOrAuth(frame: Buffer, headerLength: number, kind: 14 | 15, v5: boolean): Violation | undefined {
    this.start(frame, headerLength);
    const body = frame.length - headerLength;
    // 3.1.1 §3.14.1: the Remaining Length of DISCONNECT is 0.
    if (!v5) return body === 0 ? undefined : { reasonCode: malformed, message: `DISCONNECT with a Remaining Length of ${body}` };
    if (body === 0) return undefined;
    const code = this.u8('reason code');
    if (!(clientReasonCodes[kind]?.has(code) ?? false))
      return { reasonCode: protocolError, message: `reason code 0x${code.toString(16)} is not valid in ${kindNames[kind]}` };
    // v5 §3.14.2.2.1: a Remaining Length below 2 means a Property Length of 0.
    if (body >= 2) this.properties(kind);
    return this.atEnd(kindNames[kind]);
  }

  private packetId(name: string): boolean {
    const id = this.u16(`${name} packet identifier`);
    if (id < 0) return false;
    // [MQTT-2.2.1-3] (3.1.1 [MQTT-2.3.1-1]): SUBSCRIBE and UNSUBSCRIBE carry a non-zero packet identifier.
    return id !== 0 || this.fail(protocolError, `${name} with packet identifier 0`);
  }
}
