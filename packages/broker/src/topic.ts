// Topic name and filter rules (v5 §4.7, 3.1.1 §4.7).

export interface TopicLimits {
  maxTopicLength: number;
  maxTopicLevels: number;
}

/** Returns why a PUBLISH topic name is invalid, or undefined when it is valid. */
export function topicNameError(topic: string, limits: TopicLimits): string | undefined {
  // [MQTT-4.7.3-1] at least one character.
  if (topic.length === 0) return 'empty topic name';
  if (topic.length > limits.maxTopicLength) return 'topic name too long';
  let levels = 1;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    // [MQTT-3.3.2-2] no wildcards in a topic name; [MQTT-4.7.3-2] no U+0000.
    if (c === 0x2b || c === 0x23) return 'wildcard in topic name';
    if (c === 0) return 'U+0000 in topic name';
    if (c === 0x2f && ++levels > limits.maxTopicLevels) return 'too many topic levels';
  }
  return undefined;
}

/** Returns why a topic filter (without a $share prefix) is invalid, or undefined. */
export function topicFilterError(filter: string, limits: TopicLimits): string | undefined {
  if (filter.length === 0) return 'empty topic filter'; // [MQTT-4.7.3-1]
  if (filter.length > limits.maxTopicLength) return 'topic filter too long';
  const levels = filter.split('/');
  if (levels.length > limits.maxTopicLevels) return 'too many topic levels';
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if (level.includes('\u0000')) return 'U+0000 in topic filter'; // [MQTT-4.7.3-2]
    // [MQTT-4.7.1-1] '#' alone in its level and last; [MQTT-4.7.1-2] '+' alone in its level
    // (v5 numbering; 3.1.1 [MQTT-4.7.1-2] and [MQTT-4.7.1-3]).
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return "misplaced '#'";
    if (level.includes('+') && level !== '+') return "misplaced '+'";
  }
  return undefined;
}

export interface SharedFilter {
  group: string;
  filter: string;
}

/**
 * Splits `$share/<group>/<filter>` (v5 §4.8.2). Returns undefined for a normal filter
 * and null for a malformed shared one.
 */
export function parseSharedFilter(filter: string): SharedFilter | null | undefined {
  if (!filter.startsWith('$share/')) return undefined;
  const rest = filter.slice(7);
  const slash = rest.indexOf('/');
  if (slash <= 0) return null;
  const group = rest.slice(0, slash);
  // [MQTT-4.8.2-2] the ShareName must not contain '/', '+' or '#'.
  if (group.includes('+') || group.includes('#')) return null;
  const inner = rest.slice(slash + 1);
  if (inner.length === 0) return null;
  return { group, filter: inner };
}

/** True when `topic` matches `filter` (both plain, no $share prefix). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  // [MQTT-4.7.2-1] wildcards in the first level never match a '$' topic.
  if (topic.startsWith('$') && (f[0] === '+' || f[0] === '#')) return false;
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true; // also matches the parent level (MQTT §4.7.1.2)
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

// Mount points (ADR 0005): a client with mount point `m` publishes `t` as `m + t`, subscribes `f` as `m + f`
// (`$share/<g>/f` as `$share/<g>/<m>f`) and sees every delivered topic without `m`.

/** Why a mount point from the authenticate hook is unusable, or undefined. '' means none. */
export function mountPointError(mountPoint: unknown, maxLength: number): string | undefined {
  if (typeof mountPoint !== 'string') return 'mount point is not a string';
  if (mountPoint.length > maxLength) return 'mount point too long';
  // Ending in '/' keeps every valid filter valid once mounted (`m/` + `#` is a filter, `m` + `#` is not).
  if (mountPoint !== '' && !mountPoint.endsWith('/')) return "mount point does not end with '/'";
  for (let i = 0; i < mountPoint.length; i++) {
    const c = mountPoint.charCodeAt(i);
    if (c === 0x2b || c === 0x23) return 'wildcard in mount point';
    if (c === 0) return 'U+0000 in mount point';
  }
  return undefined;
}

/** The filter as routed for a client with this mount point: the prefix goes inside `$share/<group>/`. */
export function mountFilter(mountPoint: string, filter: string): string {
  if (mountPoint === '') return filter;
  const shared = parseSharedFilter(filter);
  if (shared === undefined || shared === null) return mountPoint + filter;
  return `$share/${shared.group}/${mountPoint}${shared.filter}`;
}

/** The client's own form of a mounted filter (inverse of mountFilter). */
export function unmountFilter(mountPoint: string, filter: string): string {
  if (mountPoint === '') return filter;
  const shared = parseSharedFilter(filter);
  if (shared === undefined || shared === null) return filter.startsWith(mountPoint) ? filter.slice(mountPoint.length) : filter;
  return `$share/${shared.group}/${shared.filter.startsWith(mountPoint) ? shared.filter.slice(mountPoint.length) : shared.filter}`;
}
