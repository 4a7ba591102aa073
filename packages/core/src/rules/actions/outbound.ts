import { renderTemplate } from '../../notifications/template';
import type { ActionContext, ActionDef } from './types';

async function payloadOf(source: string | undefined, x: ActionContext): Promise<unknown> {
  return source === undefined ? { ...x.message } : ((await x.expression(source).evaluate(x.values, x.bindings, x.now)) ?? null);
}

/** Sends to notification channels; subject and body are templates over the context ({{device.name}}, {{values.t}}, {{alarm.type}}). */
export const notifyAction: ActionDef<{ type: 'notify'; channelIds: string[]; subject: string; body: string }> = {
  type: 'notify',
  defaultOn: 'rise',
  validate(o, path, c) {
    const ids = c.strings(o.channelIds, `${path}/channelIds`, 10, 64);
    if (ids?.length === 0) c.add(`${path}/channelIds`, 'must name at least one channel');
    c.string(o.subject, `${path}/subject`, 1, 512);
    c.string(o.body, `${path}/body`, 1, 16_384);
  },
  expressions: () => [],
  plan(spec, x, index) {
    const subject = renderTemplate(spec.subject, x.context);
    return Promise.resolve({
      type: 'notify',
      index,
      detail: { channelIds: spec.channelIds, subject },
      run: (p) => p.notify({ tenantId: x.tenantId, channelIds: spec.channelIds, subject: spec.subject, body: spec.body, context: x.context, ruleId: x.ruleId }),
    });
  },
};

type RepublishSpec = { type: 'republish'; topic: string; payload?: string; qos?: 0 | 1; retain?: boolean };

/** Publishes JSON to an MQTT topic of the platform's broker (the topic is a template). */
export const republishAction: ActionDef<RepublishSpec> = {
  type: 'republish',
  defaultOn: 'true',
  validate(o, path, c) {
    const t = c.string(o.topic, `${path}/topic`, 1, 512);
    if (t !== undefined && (/[+#]/.test(t) || t.startsWith('$') || t.startsWith('v1/') || t.startsWith('v2/'))) {
      c.add(`${path}/topic`, 'must be a topic name without wildcards, not starting with $, v1/ or v2/ (the device API)');
    }
    if (o.payload !== undefined) c.expression(o.payload, `${path}/payload`);
    if (o.qos !== undefined && o.qos !== 0 && o.qos !== 1) c.add(`${path}/qos`, 'must be 0 or 1');
    c.boolean(o.retain, `${path}/retain`);
  },
  expressions: (s) => (s.payload === undefined ? [] : [s.payload]),
  async plan(spec, x, index) {
    const topic = renderTemplate(spec.topic, x.context);
    const payload = JSON.stringify(await payloadOf(spec.payload, x));
    const qos = spec.qos ?? 0;
    const retain = spec.retain ?? false;
    return { type: 'republish', index, detail: { topic, payload }, run: (p) => p.republish({ tenantId: x.tenantId, topic, payload, qos, retain }) };
  },
};

type WebhookSpec = { type: 'webhook'; url: string; secret?: string; payload?: string; headers?: Record<string, string> };

/** A signed JSON POST through the notification delivery queue (retried with backoff, in the delivery log). */
export const webhookAction: ActionDef<WebhookSpec> = {
  type: 'webhook',
  defaultOn: 'rise',
  validate(o, path, c) {
    const u = c.string(o.url, `${path}/url`, 8, 2048);
    if (u !== undefined && !/^https?:\/\/[^\s]+$/.test(u)) c.add(`${path}/url`, 'must be an http:// or https:// URL');
    c.string(o.secret, `${path}/secret`, 8, 256);
    if (o.payload !== undefined) c.expression(o.payload, `${path}/payload`);
    const h = c.object(o.headers ?? {}, `${path}/headers`, Object.keys((o.headers as object | null) ?? {}));
    if (h) for (const [k, v] of Object.entries(h)) c.string(v, `${path}/headers/${k}`, 0, 1024);
  },
  expressions: (s) => (s.payload === undefined ? [] : [s.payload]),
  async plan(spec, x, index) {
    const payload = await payloadOf(spec.payload, x);
    return {
      type: 'webhook',
      index,
      detail: { url: spec.url, payload },
      run: (p) =>
        p.webhook({
          tenantId: x.tenantId,
          url: spec.url,
          payload,
          ruleId: x.ruleId,
          ...(spec.secret === undefined ? {} : { secret: spec.secret }),
          ...(spec.headers === undefined ? {} : { headers: spec.headers }),
        }),
    };
  },
};
