import { isUtf8 } from 'node:buffer';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { ReasonCode } from '../reason-codes';
import { FrameCheck, type Violation } from './validate';

export interface FrameSink {
  onPacket(packet: Packet): void;
  /** A fatal decoding problem (`inConnect`: in the CONNECT packet); the reader is dead afterwards. */
  onFrameError(reasonCode: number, message: string, inConnect: boolean): void;
}

// Required fixed-header flags per packet type (v5 §2.1.3 Table 2-2, 3.1.1 Table 2.2);
// -1 = PUBLISH (flags carry DUP/QoS/RETAIN), -2 = never sent by a client.
const requiredFlags = [-2, 0, -2, -1, 0, 0, 2, 0, 2, -2, 2, -2, 0, -2, 0, 0];
const ackNames = ['puback', 'pubrec', 'pubrel', 'pubcomp'] as const;
const withPacketId = new Set<Packet['cmd']>(['puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'unsubscribe']);

/**
 * Splits the byte stream into MQTT packets. The fixed header is read here, so an oversize
 * Remaining Length is refused before any memory is set aside for it, and the hot packets
 * (PUBLISH without properties, the 2-byte acknowledgements) are decoded without mqtt-packet's
 * general parser; everything else goes through mqtt-packet.
 */
export class FrameReader {
  protocolVersion = 0;
  maxPacketSize: number;
  private readonly sink: FrameSink;
  private readonly parser = mqttPacket.parser();
  private readonly check = new FrameCheck();
  private parsed: Packet | undefined;
  private parseError: Error | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private needed = 0;
  private dead = false;
  private decodingConnect = false;

  constructor(sink: FrameSink, maxPacketSize: number) {
    this.sink = sink;
    this.maxPacketSize = maxPacketSize;
    this.parser.on('packet', (p: Packet) => {
      this.parsed = p;
    });
    this.parser.on('error', (e: unknown) => {
      this.parseError = e instanceof Error ? e : new Error(String(e));
    });
  }

  push(chunk: Buffer): void {
    if (this.dead) return;
    let buf = chunk;
    if (this.buffered > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
      // Wait for a large packet to arrive whole instead of concatenating every chunk.
      if (this.buffered < this.needed) return;
      buf = Buffer.concat(this.chunks, this.buffered);
      this.chunks = [];
      this.buffered = 0;
    }
    this.needed = 0;
    let pos = 0;
    const end = buf.length;
    while (pos < end && this.alive()) {
      if (end - pos < 2) break;
      this.decodingConnect = (buf[pos] ?? 0) >> 4 === 1;
      let length = 0;
      let mul = 1;
      let i = pos + 1;
      let complete = false;
      for (let k = 0; k < 4 && i < end; k++) {
        const b = buf[i++] ?? 0;
        length += (b & 0x7f) * mul;
        mul *= 128;
        if (b < 0x80) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i - pos - 1 >= 4) {
          this.fail(ReasonCode.MalformedPacket, 'invalid remaining length');
          return;
        }
        break;
      }
      const total = i - pos + length;
      if (total > this.maxPacketSize) {
        this.fail(ReasonCode.PacketTooLarge, `packet of ${total} bytes exceeds the maximum ${this.maxPacketSize}`);
        return;
      }
      if (end - pos < total) {
        this.needed = total;
        break;
      }
      this.decode(buf.subarray(pos, pos + total), i - pos);
      pos += total;
    }
    if (pos < end && this.alive()) {
      // Copy the tail so a large socket chunk is not kept alive by a few leftover bytes.
      const rest = Buffer.from(buf.subarray(pos));
      this.chunks.push(rest);
      this.buffered = rest.length;
    }
  }

  private alive(): boolean {
    return !this.dead;
  }

  private refuse(violation: Violation | undefined): boolean {
    if (violation === undefined) return false;
    this.fail(violation.reasonCode, violation.message);
    return true;
  }

  private fail(reasonCode: number, message: string): void {
    this.dead = true;
    this.chunks = [];
    this.buffered = 0;
    this.sink.onFrameError(reasonCode, message, this.decodingConnect);
  }

  private decode(frame: Buffer, headerLength: number): void {
    const first = frame[0] ?? 0;
    const type = first >> 4;
    const flags = first & 0x0f;
    const required = requiredFlags[type] ?? -2;
    if (required === -2 || (type === 15 && this.protocolVersion !== 5)) {
      this.fail(ReasonCode.MalformedPacket, `packet type ${type} is not valid from a client`);
      return;
    }
    // [MQTT-2.1.3-1] (v5) / [MQTT-2.2.2-2] (3.1.1): wrong reserved flags close the connection.
    if (required >= 0 && flags !== required) {
      this.fail(ReasonCode.MalformedPacket, `reserved flags of packet type ${type} are wrong`);
      return;
    }
    const bodyLength = frame.length - headerLength;
    const v5 = this.protocolVersion === 5;

    // Every packet mqtt-packet would decode is checked field by field first (codec/validate.ts).
    switch (type) {
      case 3:
        this.decodePublish(frame, headerLength, flags);
        return;
      case 4:
      case 5:
      case 6:
      case 7:
        if (bodyLength === 2) {
          const messageId = frame.readUInt16BE(headerLength);
          // [MQTT-2.2.1-5] (3.1.1 [MQTT-2.3.1-6]): the id of a PUBLISH, never 0.
          if (messageId === 0) {
            this.fail(ReasonCode.ProtocolError, 'acknowledgement with packet identifier 0');
            return;
          }
          this.sink.onPacket({ cmd: ackNames[type - 4] ?? 'puback', messageId });
          return;
        }
        if (this.refuse(this.check.ack(frame, headerLength, type, v5))) return;
        break;
      case 12:
        if (bodyLength !== 0) {
          this.fail(ReasonCode.MalformedPacket, 'PINGREQ with a body');
          return;
        }
        this.sink.onPacket({ cmd: 'pingreq' });
        return;
      case 1:
        if (!this.checkConnectHeader(frame, headerLength) || this.refuse(this.check.connect(frame, headerLength))) return;
        break;
      case 8:
        if (this.refuse(this.check.subscribe(frame, headerLength, v5))) return;
        break;
      case 10:
        if (this.refuse(this.check.unsubscribe(frame, headerLength, v5))) return;
        break;
      case 14:
      case 15:
        if (this.refuse(this.check.disconnectOrAuth(frame, headerLength, type, v5))) return;
        if (type === 15 && bodyLength === 0) {
          // v5 §3.15.2.1: an empty AUTH means reason Success (mqtt-packet insists on a reason code byte).
          this.sink.onPacket({ cmd: 'auth', reasonCode: 0 });
          return;
        }
        break;
      default:
        break;
    }
    this.generic(frame);
  }

  /** Protocol name and level, checked before mqtt-packet so the broker can answer [MQTT-3.1.2-2]. */
  private checkConnectHeader(frame: Buffer, headerLength: number): boolean {
    if (this.protocolVersion !== 0) {
      // [MQTT-3.1.0-2] a second CONNECT is a protocol error.
      this.fail(ReasonCode.ProtocolError, 'second CONNECT');
      return false;
    }
    if (frame.length < headerLength + 2) {
      this.fail(ReasonCode.MalformedPacket, 'CONNECT too short');
      return false;
    }
    const nameLength = frame.readUInt16BE(headerLength);
    const name = frame.toString('latin1', headerLength + 2, headerLength + 2 + nameLength);
    const level = (frame[headerLength + 2 + nameLength] ?? 0) & 0x7f;
    const known = (name === 'MQTT' && (level === 4 || level === 5)) || (name === 'MQIsdp' && level === 3);
    if (!known) {
      // [MQTT-3.1.2-1] a wrong protocol name may be answered, then the connection closes;
      // [MQTT-3.1.2-2] an unsupported level gets CONNACK 0x84 / return code 1.
      this.fail(ReasonCode.UnsupportedProtocolVersion, `unsupported protocol ${name} level ${level}`);
      return false;
    }
    this.protocolVersion = level;
    return true;
  }

  private generic(frame: Buffer): void {
    this.parsed = undefined;
    this.parseError = undefined;
    this.parser.parse(frame);
    const error = this.parseError as Error | undefined;
    const packet = this.parsed as Packet | undefined;
    if (error !== undefined || packet === undefined) {
      this.fail(ReasonCode.MalformedPacket, error?.message ?? 'incomplete packet');
      return;
    }
    // A second line of defence behind FrameCheck: never hand a handler an out-of-range packet id.
    const id = (packet as { messageId?: number }).messageId;
    if ((withPacketId.has(packet.cmd) || id !== undefined) && !(Number.isInteger(id) && (id ?? 0) >= 1 && (id ?? 0) <= 65_535)) {
      this.fail(ReasonCode.MalformedPacket, `${packet.cmd} decoded with packet identifier ${String(id)}`);
      return;
    }
    // Detach the payload from the socket chunk it may still point into.
    if (packet.cmd === 'publish' && Buffer.isBuffer(packet.payload)) packet.payload = Buffer.from(packet.payload);
    this.sink.onPacket(packet);
  }

  private decodePublish(frame: Buffer, headerLength: number, flags: number): void {
    const qos = ((flags >> 1) & 3) as 0 | 1 | 2 | 3;
    // [MQTT-3.3.1-4] QoS 3 is malformed; [MQTT-3.3.1-2] DUP must be 0 for QoS 0.
    if (qos === 3) {
      this.fail(ReasonCode.MalformedPacket, 'PUBLISH with QoS 3');
      return;
    }
    if (qos === 0 && (flags & 8) !== 0) {
      this.fail(ReasonCode.MalformedPacket, 'DUP set on a QoS 0 PUBLISH');
      return;
    }
    let pos = headerLength;
    if (frame.length < pos + 2) {
      this.fail(ReasonCode.MalformedPacket, 'PUBLISH too short');
      return;
    }
    const topicEnd = pos + 2 + frame.readUInt16BE(pos);
    if (topicEnd > frame.length) {
      this.fail(ReasonCode.MalformedPacket, 'PUBLISH topic overruns the packet');
      return;
    }
    const topicBytes = frame.subarray(pos + 2, topicEnd);
    if (!isUtf8(topicBytes)) {
      this.fail(ReasonCode.MalformedPacket, 'ill-formed UTF-8 in the topic name');
      return;
    }
    const topic = topicBytes.toString('utf8');
    pos = topicEnd;
    let messageId: number | undefined;
    if (qos > 0) {
      if (frame.length < pos + 2) {
        this.fail(ReasonCode.MalformedPacket, 'PUBLISH without a packet identifier');
        return;
      }
      messageId = frame.readUInt16BE(pos);
      // [MQTT-2.2.1-3] (v5) / [MQTT-2.3.1-1] (3.1.1): a non-zero packet identifier.
      if (messageId === 0) {
        this.fail(ReasonCode.ProtocolError, 'packet identifier 0');
        return;
      }
      pos += 2;
    }
    if (this.protocolVersion === 5) {
      if (pos >= frame.length) {
        this.fail(ReasonCode.MalformedPacket, 'PUBLISH without properties');
        return;
      }
      if (frame[pos] !== 0) {
        if (!this.refuse(this.check.publishProperties(frame, pos))) this.generic(frame);
        return;
      }
      pos += 1;
    }
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic,
      payload: Buffer.from(frame.subarray(pos)),
      qos,
      dup: (flags & 8) !== 0,
      retain: (flags & 1) !== 0,
    };
    if (messageId !== undefined) packet.messageId = messageId;
    this.sink.onPacket(packet);
  }
}
