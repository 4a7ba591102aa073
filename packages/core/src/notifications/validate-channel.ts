import { fail } from '../errors';
import type { ChannelConfigs, ChannelType, EmailConfig, InAppConfig, OneOffWebhook, WebhookConfig } from './model';

/**
 * The checks of a channel's config. The REST schema takes `config` as an object and leaves it to these, so every
 * problem names its field (config.to[0] is not an email address) whichever way the channel arrives.
 */
export const maxRecipients = 50;
export const maxHeaders = 10;
export const maxInAppUsers = 1000;

const emailPattern = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const hostPattern = /^[A-Za-z0-9.:[\]_-]{1,253}$/;
/** RFC 9110 §5.1 field-name (token); values without CR, LF or NUL (§5.5). */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const headerValue = /^[\t\x20-\x7e\x80-\xff]{0,1024}$/;
/** Set by the sender, or by HTTP itself: a channel's headers may not replace them. */
const reservedHeaders = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'x-thingstead-timestamp',
  'x-thingstead-signature',
]);

export const isEmailAddress = (s: unknown): s is string => typeof s === 'string' && s.length <= 254 && emailPattern.test(s);

class Problems {
  readonly list: string[] = [];
  add(p: string): void {
    this.list.push(p);
  }
  throwIfAny(): void {
    if (this.list.length > 0) fail('NOTIFICATION_CHANNEL_INVALID', `Invalid channel: ${this.list.join('; ')}.`, { problems: this.list });
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function known(o: Obj, at: string, fields: readonly string[], p: Problems): void {
  for (const k of Object.keys(o)) if (!fields.includes(k)) p.add(`${at}.${k} is not a field of this channel type`);
}

function str(o: Obj, key: string, at: string, p: Problems, max: number, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > max) {
    p.add(`${at}.${key} must be text of 1 to ${max} characters`);
    return undefined;
  }
  return v;
}

function bool(o: Obj, key: string, at: string, p: Problems, optional = false): boolean | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'boolean') p.add(`${at}.${key} must be true or false`);
  return typeof v === 'boolean' ? v : undefined;
}

/** A secret field: a string sets it, null removes it, left out keeps the current one. */
function secret(o: Obj, key: string, at: string, p: Problems, current: string | undefined): string | undefined {
  const v = o[key];
  if (v === undefined) return current;
  if (v === null) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) p.add(`${at}.${key} must be text of 1 to 256 characters, or null to remove it`);
  return typeof v === 'string' ? v : undefined;
}

/** An http(s) URL without credentials in it (they belong in a header or the secret). */
export function webhookUrlProblem(v: unknown, at: string): string | undefined {
  if (typeof v !== 'string' || v.length > 2048) return `${at} must be an http or https URL of at most 2048 characters`;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return `${at} is not a URL`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `${at} must use http or https, not ${u.protocol.slice(0, -1)}`;
  if (u.username !== '' || u.password !== '') return `${at} must not hold credentials; send them in headers, or sign with the secret`;
  return undefined;
}

export function headersProblems(v: unknown, at: string): string[] {
  if (!isObj(v)) return [`${at} must be an object of header name -> value`];
  const out: string[] = [];
  const names = Object.keys(v);
  if (names.length > maxHeaders) out.push(`${at} may hold at most ${maxHeaders} headers`);
  for (const name of names) {
    const value = v[name];
    if (!headerName.test(name)) out.push(`${at}.${name} is not a valid header name`);
    else if (reservedHeaders.has(name.toLowerCase())) out.push(`${at}.${name} is set by Thingstead and cannot be given`);
    if (typeof value !== 'string' || !headerValue.test(value)) out.push(`${at}.${name} must be text of at most 1024 characters without line breaks`);
  }
  return out;
}

function email(o: Obj, current: EmailConfig | undefined, p: Problems): EmailConfig {
  const at = 'config';
  known(o, at, ['host', 'port', 'secure', 'user', 'password', 'from', 'to', 'ignoreTls', 'requireTls'], p);
  const host = str(o, 'host', at, p, 253);
  if (host !== undefined && !hostPattern.test(host)) p.add('config.host must be a host name or IP address');
  const port = o.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535) p.add('config.port must be an integer from 1 to 65535');
  const secure = bool(o, 'secure', at, p);
  const user = str(o, 'user', at, p, 256, true);
  const password = secret(o, 'password', at, p, current?.password);
  if (!isEmailAddress(o.from)) p.add('config.from is not an email address');
  const to = o.to;
  if (!Array.isArray(to) || to.length < 1 || to.length > maxRecipients) p.add(`config.to must be a list of 1 to ${maxRecipients} email addresses`);
  else
    to.forEach((a, i) => {
      if (!isEmailAddress(a)) p.add(`config.to[${i}] is not an email address`);
    });
  const ignoreTls = bool(o, 'ignoreTls', at, p, true);
  const requireTls = bool(o, 'requireTls', at, p, true);
  if (ignoreTls === true && requireTls === true) p.add('config.ignoreTls and config.requireTls cannot both be true');
  return {
    host: host ?? '',
    port: port as number,
    secure: secure ?? false,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    from: o.from as string,
    to: Array.isArray(to) ? (to as string[]) : [],
    ...(ignoreTls === undefined ? {} : { ignoreTls }),
    ...(requireTls === undefined ? {} : { requireTls }),
  };
}

function webhook(o: Obj, current: WebhookConfig | undefined, p: Problems): WebhookConfig {
  known(o, 'config', ['url', 'secret', 'headers'], p);
  const urlProblem = webhookUrlProblem(o.url, 'config.url');
  if (urlProblem) p.add(urlProblem);
  const s = secret(o, 'secret', 'config', p, current?.secret);
  if (o.headers !== undefined) for (const h of headersProblems(o.headers, 'config.headers')) p.add(h);
  return {
    url: o.url as string,
    ...(s === undefined ? {} : { secret: s }),
    ...(o.headers === undefined ? {} : { headers: o.headers as Record<string, string> }),
  };
}

function inapp(o: Obj, p: Problems): InAppConfig {
  known(o, 'config', ['userIds'], p);
  const ids = o.userIds;
  if (ids === undefined) return {};
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > maxInAppUsers) {
    p.add(`config.userIds must be a list of 1 to ${maxInAppUsers} user ids (leave it out for every user of the tenant)`);
    return {};
  }
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || id.length === 0 || id.length > 64) p.add(`config.userIds[${i}] is not a user id`);
  });
  return { userIds: [...new Set(ids as string[])] };
}

/** The channel's name, trimmed: 1 to 100 characters, no control characters. */
export function channelName(v: unknown): string {
  const name = typeof v === 'string' ? v.trim() : '';
  // eslint-disable-next-line no-control-regex
  if (name.length === 0 || name.length > 100 || /[\x00-\x1f\x7f]/.test(name))
    fail('NOTIFICATION_CHANNEL_INVALID', 'Invalid channel: name must be 1 to 100 characters without control characters.', { problems: ['name'] });
  return name;
}

/**
 * The config of a channel of `type` from `input`; `current` is the stored config (an update), whose secrets a
 * config without them keeps. Throws NOTIFICATION_CHANNEL_INVALID listing every problem.
 */
export function channelConfig<K extends ChannelType>(type: K, input: unknown, current?: ChannelConfigs[K]): ChannelConfigs[K] {
  const p = new Problems();
  if (!isObj(input)) {
    p.add('config must be an object');
    p.throwIfAny();
  }
  const o = input as Obj;
  const out =
    type === 'email' ? email(o, current as EmailConfig | undefined, p) : type === 'webhook' ? webhook(o, current as WebhookConfig | undefined, p) : inapp(o, p);
  p.throwIfAny();
  return out as ChannelConfigs[K];
}

/** A one-off webhook's problems (a rule's webhook action), for its FAILED delivery: empty when it can be sent. */
export function oneOffWebhookProblems(w: OneOffWebhook): string[] {
  const out: string[] = [];
  const url = webhookUrlProblem(w.url, 'url');
  if (url) out.push(url);
  out.push(...headersProblems(w.headers, 'headers'));
  if (w.secret !== undefined && (w.secret.length === 0 || w.secret.length > 256)) out.push('secret must be text of 1 to 256 characters');
  return out;
}
