import { messageError } from './codec/message-check';
import type { StoredOutgoing, StoredSession } from './persistence/persistence';
import { maxMountPointLength } from './options';
import { mountPointError, parseSharedFilter, topicFilterError, type TopicLimits } from './topic';

// Persisted state is input too: it may have been written by an older version that accepted a
// packet it should have refused, or edited by hand. These checks run once per entry at load;
// an entry that fails is dropped (and reported) instead of failing later, for every subscriber,
// after every restart. Fields they do not know are left alone.

function isUint(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max;
}

/** Why a stored session cannot be restored, or undefined (its outgoing messages are checked one by one). */
export function storedSessionError(s: StoredSession, limits: TopicLimits): string | undefined {
  const r = s as unknown as Record<string, unknown>;
  if (typeof r.clientId !== 'string' || r.clientId.length === 0) return 'client id is not a string';
  if (r.namespace !== undefined && (typeof r.namespace !== 'string' || r.namespace.includes('\u0000'))) return 'namespace is not a string without U+0000';
  if (r.mountPoint !== undefined && mountPointError(r.mountPoint, maxMountPointLength) !== undefined)
    return 'mount point is not a string without wildcards or U+0000';
  if (r.will !== undefined) {
    const w = r.will as Record<string, unknown> | null;
    if (typeof w !== 'object' || w === null || !isUint(w.delaySec, 0, 0xffffffff)) return 'the will has no valid delay';
    const e = messageError(w.message, limits);
    if (e !== undefined) return `will: ${e}`;
  }
  if (!isUint(r.expiryIntervalSec, 0, 0xffffffff)) return 'session expiry is not a four-byte integer';
  if (r.disconnectedAt !== undefined && !(typeof r.disconnectedAt === 'number' && Number.isFinite(r.disconnectedAt))) return 'disconnectedAt is not a time';
  if (!Array.isArray(r.inboundQos2) || !r.inboundQos2.every((id) => isUint(id, 1, 65_535))) return 'inboundQos2 holds an invalid packet id';
  if (!Array.isArray(r.outgoing)) return 'outgoing is not a list';
  if (!Array.isArray(r.subscriptions)) return 'subscriptions is not a list';
  for (const sub of r.subscriptions as unknown[]) {
    const e = subscriptionError(sub, limits);
    if (e !== undefined) return e;
  }
  return undefined;
}

function subscriptionError(sub: unknown, limits: TopicLimits): string | undefined {
  if (typeof sub !== 'object' || sub === null) return 'a subscription is not an object';
  const r = sub as Record<string, unknown>;
  if (typeof r.filter !== 'string') return 'a subscription filter is not a string';
  const shared = parseSharedFilter(r.filter);
  if (shared === null) return `invalid shared subscription ${r.filter}`;
  const filterError = topicFilterError(shared === undefined ? r.filter : shared.filter, limits);
  if (filterError !== undefined) return `${filterError}: ${r.filter}`;
  if (!isUint(r.qos, 0, 2)) return `subscription ${r.filter} has QoS ${String(r.qos)}`;
  if (typeof r.noLocal !== 'boolean' || typeof r.retainAsPublished !== 'boolean' || !isUint(r.retainHandling, 0, 2))
    return `subscription ${r.filter} has invalid options`;
  if (r.subscriptionId !== undefined && !isUint(r.subscriptionId, 1, 268_435_455)) return `subscription ${r.filter} has an invalid identifier`;
  return undefined;
}

/** Why a stored outgoing (queued or in-flight) message cannot be delivered, or undefined. */
export function storedOutgoingError(o: StoredOutgoing, limits: TopicLimits): string | undefined {
  const r = o as unknown as Record<string, unknown>;
  const m = messageError(r.message, limits);
  if (m !== undefined) return m;
  if (!isUint(r.seq, 1, Number.MAX_SAFE_INTEGER)) return 'seq is not a positive integer';
  if (!isUint(r.qos, 0, 2)) return `outgoing QoS ${String(r.qos)}`;
  if (typeof r.retain !== 'boolean') return 'retain is not a boolean';
  if (r.subscriptionIds !== undefined && !(Array.isArray(r.subscriptionIds) && r.subscriptionIds.every((id) => isUint(id, 1, 268_435_455))))
    return 'invalid subscription identifiers';
  if (r.packetId !== undefined && !isUint(r.packetId, 1, 65_535)) return 'invalid packet id';
  if (r.state !== undefined && r.state !== 'publish' && r.state !== 'pubrel') return 'invalid in-flight state';
  return undefined;
}
