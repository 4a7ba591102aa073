// Pre-generated PUBLISH packets, so publishers only hand ready buffers to the socket.
//
// Payload layout (payloadBytes >= 16): [0] publisher index, [1..4] sequence number (uint32 BE, modulo the
// ring length), [8..15] send time as a float64 (performance.now() in ms, latency scenario only), rest zero.
import { generate, type QoS } from 'mqtt-packet';
import type { ProtocolVersion } from './raw-client';

export const SEQ_OFFSET = 1;
export const STAMP_OFFSET = 8;
export const MIN_PAYLOAD_BYTES = 16;

export interface PublishTemplate {
  /** One encoded PUBLISH; every packet of a ring has this exact length. */
  packet: Buffer;
  payloadOffset: number;
  /** Offset of the packet identifier, or -1 for QoS 0. */
  idOffset: number;
}

export function publishTemplate(opts: { topic: string; qos: QoS; payloadBytes: number; publisher: number; protocolVersion: ProtocolVersion }): PublishTemplate {
  if (opts.payloadBytes < MIN_PAYLOAD_BYTES) throw new Error(`payload must be at least ${MIN_PAYLOAD_BYTES} bytes`);
  const payload = Buffer.alloc(opts.payloadBytes);
  payload[0] = opts.publisher;
  const packet = generate(
    {
      cmd: 'publish',
      topic: opts.topic,
      payload,
      qos: opts.qos,
      dup: false,
      retain: false,
      ...(opts.qos > 0 ? { messageId: 1 } : {}),
    },
    { protocolVersion: opts.protocolVersion },
  );
  const payloadOffset = packet.length - opts.payloadBytes;
  // Variable header: topic (2 + n bytes), packet id (2, QoS > 0), v5 properties length (1 byte here, empty).
  const idOffset = opts.qos > 0 ? payloadOffset - 2 - (opts.protocolVersion === 5 ? 1 : 0) : -1;
  return { packet, payloadOffset, idOffset };
}

/**
 * `count` copies of the template back to back, packet k carrying sequence k and, for QoS > 0, packet id k + 1.
 * QoS > 0 rings must not exceed 65535 packets, so ids stay unique within one pass of the ring.
 */
export function buildRing(t: PublishTemplate, count: number): Buffer {
  if (t.idOffset >= 0 && count > 65535) throw new Error('a QoS > 0 ring holds at most 65535 packets');
  const len = t.packet.length;
  const ring = Buffer.allocUnsafe(len * count);
  for (let k = 0; k < count; k++) {
    const o = k * len;
    t.packet.copy(ring, o);
    ring.writeUInt32BE(k, o + t.payloadOffset + SEQ_OFFSET);
    if (t.idOffset >= 0) ring.writeUInt16BE(k + 1, o + t.idOffset);
  }
  return ring;
}
