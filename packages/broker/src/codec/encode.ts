import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import type { Message } from '../message';

function varIntLength(n: number): number {
  return n < 128 ? 1 : n < 16_384 ? 2 : n < 2_097_152 ? 3 : 4;
}

function writeVarInt(buf: Buffer, pos: number, n: number): number {
  let value = n;
  do {
    let byte = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    buf[pos++] = byte;
  } while (value > 0);
  return pos;
}

// Encoded topic names, shared by all messages on the same topic; bounded by clearing.
const topicCache = new Map<string, Buffer>();

function topicBytes(topic: string): Buffer {
  let bytes = topicCache.get(topic);
  if (bytes === undefined) {
    if (topicCache.size >= 10_000) topicCache.clear();
    bytes = Buffer.from(topic, 'utf8');
    topicCache.set(topic, bytes);
  }
  return bytes;
}

/**
 * Encodes a PUBLISH that carries no properties in one allocation: the hot path of the
 * broker. The QoS 0 form is identical for every subscriber, so it is cached on the message.
 */
export function encodePlainPublish(message: Message, qos: number, retain: boolean, dup: boolean, packetId: number, v5: boolean): Buffer {
  const cacheSlot = (v5 ? 2 : 0) + (retain ? 1 : 0);
  if (qos === 0) {
    const cached = message.encoded?.[cacheSlot];
    if (cached !== undefined) return cached;
  }
  const topic = topicBytes(message.topic);
  const payload = message.payload;
  const remaining = 2 + topic.length + (qos > 0 ? 2 : 0) + (v5 ? 1 : 0) + payload.length;
  const buf = Buffer.allocUnsafe(1 + varIntLength(remaining) + remaining);
  buf[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let pos = writeVarInt(buf, 1, remaining);
  buf.writeUInt16BE(topic.length, pos);
  pos += 2;
  pos += topic.copy(buf, pos);
  if (qos > 0) {
    buf.writeUInt16BE(packetId, pos);
    pos += 2;
  }
  if (v5) buf[pos++] = 0;
  payload.copy(buf, pos);
  if (qos === 0) (message.encoded ??= [undefined, undefined, undefined, undefined])[cacheSlot] = buf;
  return buf;
}

/**
 * A v5 PUBLISH without other properties that carries a Topic Alias: the topic name on first
 * use of the alias, an empty one afterwards (v5 §3.3.2.3.4). Per connection, so never cached on
 * the message (the QoS 0 cache above holds the unaliased form every other subscriber gets).
 */
export function encodeAliasedPublish(
  message: Message,
  qos: number,
  retain: boolean,
  dup: boolean,
  packetId: number,
  alias: number,
  withTopic: boolean,
): Buffer {
  const topic = withTopic ? topicBytes(message.topic) : undefined;
  const payload = message.payload;
  const topicLength = topic === undefined ? 0 : topic.length;
  const remaining = 2 + topicLength + (qos > 0 ? 2 : 0) + 4 + payload.length;
  const buf = Buffer.allocUnsafe(1 + varIntLength(remaining) + remaining);
  buf[0] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  let pos = writeVarInt(buf, 1, remaining);
  buf.writeUInt16BE(topicLength, pos);
  pos += 2;
  if (topic !== undefined) pos += topic.copy(buf, pos);
  if (qos > 0) {
    buf.writeUInt16BE(packetId, pos);
    pos += 2;
  }
  buf[pos++] = 3;
  buf[pos++] = 0x23;
  buf.writeUInt16BE(alias, pos);
  pos += 2;
  payload.copy(buf, pos);
  return buf;
}

export function encodePublishWithProperties(packet: IPublishPacket): Buffer {
  return mqttPacket.generate(packet, { protocolVersion: 5 });
}

export function encodePacket(packet: Packet, protocolVersion: number): Buffer {
  return mqttPacket.generate(packet, { protocolVersion });
}

/** The 4-byte PUBACK/PUBREC/PUBREL/PUBCOMP with reason Success (v5 §3.4.2.1 allows omitting it). */
export function encodeAck(type: 'puback' | 'pubrec' | 'pubrel' | 'pubcomp', packetId: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf[0] = type === 'puback' ? 0x40 : type === 'pubrec' ? 0x50 : type === 'pubrel' ? 0x62 : 0x70;
  buf[1] = 2;
  buf.writeUInt16BE(packetId, 2);
  return buf;
}
