import type { MessageProperties, PublishRequest } from '@thingstead/broker';
import { isThingsteadError, parseJsonPayload, type Core, type DeviceIdentity } from '@thingstead/core';
import { deviceTopics } from './topics';

/** Publishes to one device's own topic space (its mount point); `topic` as the device sees it. */
export type DeviceReply = (deviceId: string, topic: string, payload: string, properties?: MessageProperties) => Promise<void>;

type Handler = (core: Core, device: DeviceIdentity, p: PublishRequest, id: string, reply: DeviceReply) => Promise<void>;

/**
 * What a device's PUBLISH on each ThingsBoard device API topic does, besides telemetry (hooks.ts): one
 * handler per topic, each converting the message into a core call and the answer into the reply topic
 * (DESIGN.md "Device API"). `id` is the last topic level of the request and response topics.
 */
const handlers: { pattern: RegExp; handle: Handler }[] = [
  {
    // Client attributes: {"key":value,...}.
    pattern: /^v1\/devices\/me\/attributes$/,
    handle: async (core, device, p) => {
      await core.attributes.report(device, parseJsonPayload(p.payload, 'ATTRIBUTES_INVALID'));
    },
  },
  {
    // {"clientKeys":"a,b","sharedKeys":"c"} -> .../response/{id} with the scopes asked for (both, when neither is).
    pattern: /^v1\/devices\/me\/attributes\/request\/([^/]+)$/,
    handle: async (core, device, p, id, reply) => {
      const body = p.payload.length === 0 ? {} : parseJsonPayload(p.payload, 'ATTRIBUTES_INVALID');
      const answer = await core.attributes.request(device, body ?? {});
      await reply(device.deviceId, `${deviceTopics.attributes}/response/${id}`, JSON.stringify(answer), correlated(p));
    },
  },
  {
    // The device's answer to a platform command.
    pattern: /^v1\/devices\/me\/rpc\/response\/([^/]+)$/,
    handle: async (core, device, p, id) => {
      await core.rpc.respond(device, id, p.payload);
    },
  },
  {
    // Device-to-server RPC {"method","params"}: answered on .../rpc/response/{id}, or on an MQTT 5 Response
    // Topic with its Correlation Data; a failure is answered too, as {"error":{code,message,hint}}.
    pattern: /^v1\/devices\/me\/rpc\/request\/([^/]+)$/,
    handle: async (core, device, p, id, reply) => {
      let answer: unknown;
      try {
        answer = await core.rpc.serve(device, p.payload);
      } catch (e) {
        if (!isThingsteadError(e) || e.kind === 'INTERNAL') throw e;
        answer = { error: { code: e.code, message: e.message, hint: e.hint } };
      }
      const responseTopic = p.properties?.responseTopic ?? `v1/devices/me/rpc/response/${id}`;
      await reply(device.deviceId, responseTopic, JSON.stringify(answer ?? null), correlated(p));
    },
  },
];

/** The handler of a device API topic other than telemetry, or undefined (then refused by authorization). */
export function deviceApiHandler(topic: string): ((core: Core, device: DeviceIdentity, p: PublishRequest, reply: DeviceReply) => Promise<void>) | undefined {
  for (const h of handlers) {
    const m = h.pattern.exec(topic);
    if (m) return (core, device, p, reply) => h.handle(core, device, p, m[1] ?? '', reply);
  }
  return undefined;
}

/** MQTT 5 request/response: a reply carries the request's Correlation Data. */
const correlated = (p: PublishRequest): MessageProperties | undefined =>
  p.properties?.correlationData === undefined ? undefined : { correlationData: p.properties.correlationData };
