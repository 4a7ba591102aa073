import type { UserProperties } from 'mqtt-packet';

export type QoS = 0 | 1 | 2;

/** The v5 PUBLISH properties the broker forwards unaltered [MQTT-3.3.2-4], [MQTT-3.3.2-15], [MQTT-3.3.2-16], [MQTT-3.3.2-17], [MQTT-3.3.2-20]. */
export interface MessageProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  contentType?: string;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: UserProperties;
}

/**
 * An application message as routed by the broker. One instance is shared by every
 * subscriber it is delivered to, so it also caches the encoded QoS 0 packet.
 */
export class Message {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: QoS;
  readonly retain: boolean;
  readonly properties: MessageProperties | undefined;
  /** Absolute expiry time (clock ms) from Message Expiry Interval, or 0 for none. */
  readonly expiresAt: number;
  /** Client id of the publisher, for No Local [MQTT-3.8.3-3]; '' when server-originated. */
  readonly origin: string;
  /** Encoded QoS 0 PUBLISH without properties, per retain flag and protocol family, built lazily. */
  encoded: (Buffer | undefined)[] | undefined = undefined;

  constructor(init: {
    topic: string;
    payload: Buffer;
    qos: QoS;
    retain: boolean;
    properties?: MessageProperties | undefined;
    expiresAt?: number;
    origin?: string;
  }) {
    this.topic = init.topic;
    this.payload = init.payload;
    this.qos = init.qos;
    this.retain = init.retain;
    this.properties = init.properties;
    this.expiresAt = init.expiresAt ?? 0;
    this.origin = init.origin ?? '';
  }

  static withExpiry(
    init: { topic: string; payload: Buffer; qos: QoS; retain: boolean; properties?: MessageProperties | undefined; origin?: string },
    now: number,
  ): Message {
    const interval = init.properties?.messageExpiryInterval;
    const message = new Message(init);
    if (interval !== undefined) (message as { expiresAt: number }).expiresAt = now + interval * 1000;
    return message;
  }

  isExpired(now: number): boolean {
    return this.expiresAt !== 0 && now >= this.expiresAt;
  }
}
