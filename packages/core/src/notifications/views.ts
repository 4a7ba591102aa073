import type { ChannelView, DeliveryView, StoredChannel, StoredDelivery } from './model';

/** A channel as the API shows it: each secret replaced by whether it is set. */
export function channelView(c: StoredChannel): ChannelView {
  const base = { id: c.id, tenantId: c.tenantId, name: c.name, enabled: c.enabled, createdAt: c.createdAt, updatedAt: c.updatedAt };
  switch (c.type) {
    case 'email': {
      const { password, ...config } = c.config;
      return { ...base, type: c.type, config: { ...config, passwordSet: password !== undefined } };
    }
    case 'webhook': {
      const { secret, ...config } = c.config;
      return { ...base, type: c.type, config: { ...config, secretSet: secret !== undefined } };
    }
    case 'inapp':
      return { ...base, type: c.type, config: { ...c.config } };
  }
}

/** A delivery as the API shows it: what it would send (and a one-off webhook's secret) stays inside. */
export function deliveryView(d: StoredDelivery): DeliveryView {
  return {
    id: d.id,
    tenantId: d.tenantId,
    channelId: d.channelId,
    kind: d.kind,
    target: d.target,
    subject: d.subject,
    status: d.status,
    attempts: d.attempts,
    lastError: d.lastError,
    nextAttemptAt: d.nextAttemptAt,
    createdAt: d.createdAt,
    sentAt: d.sentAt,
    ruleId: d.ruleId,
  };
}

/** Where a delivery goes, for the log: addresses, a URL without its query and credentials, or the inbox. */
export function channelTarget(c: StoredChannel): string {
  switch (c.type) {
    case 'email':
      return c.config.to.join(', ');
    case 'webhook':
      return urlTarget(c.config.url);
    case 'inapp':
      return c.config.userIds === undefined ? 'inbox: every user of the tenant' : cut(`inbox: ${c.config.userIds.join(', ')}`, 500);
  }
}

export function urlTarget(url: string): string {
  try {
    const u = new URL(url);
    return cut(`${u.origin}${u.pathname}`, 500);
  } catch {
    return '(not a URL)';
  }
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
