import { createTestCore } from './test-core';
import type { NotificationLimits } from '../notifications/model';
import { PermanentDeliveryError, type HttpPoster, type Mailer } from '../notifications/ports';

export interface Post {
  url: string;
  body: string;
  headers: Readonly<Record<string, string>>;
  timeoutMs: number;
  at: number;
}

/**
 * Fakes of the two ports (tests only; kept next to the tests that use them): the webhook receiver answers the
 * statuses given in turn (the last one from then on), or a promise the test settles itself.
 */
export async function notificationKit(o: { statuses?: (number | Error)[]; limits?: Partial<NotificationLimits>; random?: () => number } = {}) {
  const posts: Post[] = [];
  const mails: { to: readonly string[]; subject: string; text: string; host: string; at: number }[] = [];
  const statuses = [...(o.statuses ?? [200])];
  let clockNow = () => 0;
  let hold: Promise<void> | undefined;
  const http: HttpPoster = {
    post: async (url, body, headers, timeoutMs) => {
      posts.push({ url, body, headers, timeoutMs, at: clockNow() });
      if (hold) await hold;
      const s = statuses.length > 1 ? statuses.shift() : statuses[0];
      if (s instanceof Error) throw s;
      return { status: s ?? 200 };
    },
  };
  let mailFailure: Error | undefined;
  const mailer: Mailer = {
    send: async (config, msg) => {
      mails.push({ ...msg, host: config.host, at: clockNow() });
      if (mailFailure) throw mailFailure;
    },
  };
  const t = await createTestCore({ http, mailer, random: o.random ?? (() => 0.5), ...(o.limits ? { notifications: o.limits } : {}) });
  clockNow = () => t.clock.now();
  const n = t.core.notifications;
  /** Moves the clock in steps of the poll interval and lets what each poll started finish. */
  const tick = async (ms: number) => {
    for (let left = ms; left > 0; left -= 1000) {
      t.clock.advance(Math.min(1000, left));
      await n.idle();
    }
  };
  const deliveries = async () => (await n.deliveries(t.asAdmin, { limit: 1000, offset: 0 })).items;
  const webhookChannel = (secret = 'hook-secret-123', name = 'hook') =>
    n.createChannel(t.asAdmin, { name, type: 'webhook', config: { url: 'https://example.com/in?token=q', secret, headers: { 'x-env': 'test' } } });
  return {
    ...t,
    n,
    posts,
    mails,
    tick,
    deliveries,
    webhookChannel,
    hold: (p: Promise<void> | undefined) => {
      hold = p;
    },
    failMail: (e: Error | undefined) => {
      mailFailure = e;
    },
    PermanentDeliveryError,
  };
}
