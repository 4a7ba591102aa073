import { topicNameError, type TopicLimits } from '../topic';

// Checks of application messages that did not come through the frame reader: loaded from
// persistence (written by an older version, or by hand) or given to broker.publish(). A
// message that passes can be encoded for every subscriber; one that does not would throw in
// the encoder for each of them, again after every restart.

const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be sent as a UTF-8 Encoded String [MQTT-1.5.4-1] [MQTT-1.5.4-2], or undefined. */
function stringError(value: unknown, what: string): string | undefined {
  if (typeof value !== 'string') return `${what} is not a string`;
  if (loneSurrogate.test(value)) return `${what} is not well-formed UTF-16`;
  if (value.includes('\u0000')) return `U+0000 in ${what}`;
  if (Buffer.byteLength(value) > 65_535) return `${what} is longer than 65535 bytes`;
  return undefined;
}

function isUint(value: unknown, max: number): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= max;
}

/** Why v5 PUBLISH properties (as MessageProperties) cannot be forwarded, or undefined when they can. */
export function messagePropertiesError(properties: unknown): string | undefined {
  if (properties === undefined) return undefined;
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return 'properties are not an object';
  for (const [key, value] of Object.entries(properties as Record<string, unknown>)) {
    if (value === undefined) continue;
    let error: string | undefined;
    switch (key) {
      case 'payloadFormatIndicator':
        error = typeof value === 'boolean' ? undefined : 'payloadFormatIndicator is not a boolean';
        break;
      case 'messageExpiryInterval':
        error = isUint(value, 0xffffffff) ? undefined : 'messageExpiryInterval is not a four-byte integer';
        break;
      case 'contentType':
        error = stringError(value, 'contentType');
        break;
      case 'responseTopic':
        // [MQTT-3.3.2-14] the Response Topic is a topic name without wildcards.
        error = stringError(value, 'responseTopic') ?? (/[+#]/.test(value as string) || value === '' ? 'responseTopic is not a topic name' : undefined);
        break;
      case 'correlationData':
        error = value instanceof Uint8Array && value.length <= 65_535 ? undefined : 'correlationData is not binary data';
        break;
      case 'userProperties':
        error = userPropertiesError(value);
        break;
      default:
        error = `unknown property ${key}`;
    }
    if (error !== undefined) return error;
  }
  return undefined;
}

function userPropertiesError(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'userProperties is not an object';
  for (const [name, v] of Object.entries(value as Record<string, unknown>)) {
    const error = stringError(name, 'a user property name');
    if (error !== undefined) return error;
    const values: unknown[] = Array.isArray(v) ? v : [v];
    if (values.length === 0) return `user property ${name} has no value`;
    for (const one of values) {
      const e = stringError(one, `user property ${name}`);
      if (e !== undefined) return e;
    }
  }
  return undefined;
}

/** Why a stored or server-published message cannot be delivered, or undefined when it can. */
export function messageError(m: unknown, limits: TopicLimits): string | undefined {
  if (typeof m !== 'object' || m === null) return 'message is not an object';
  const r = m as Record<string, unknown>;
  if (typeof r.topic !== 'string') return 'topic is not a string';
  const topic = stringError(r.topic, 'the topic') ?? topicNameError(r.topic, limits);
  if (topic !== undefined) return topic;
  if (!(r.payload instanceof Uint8Array)) return 'payload is not binary data';
  if (r.qos !== 0 && r.qos !== 1 && r.qos !== 2) return `QoS ${String(r.qos)}`;
  if (typeof r.retain !== 'boolean') return 'retain is not a boolean';
  if (r.expiresAt !== undefined && !(typeof r.expiresAt === 'number' && Number.isFinite(r.expiresAt) && r.expiresAt >= 0)) return 'expiresAt is not a time';
  if (r.origin !== undefined && typeof r.origin !== 'string') return 'origin is not a string';
  return messagePropertiesError(r.properties);
}
