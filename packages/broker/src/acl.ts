import { BrokerError } from './reason-codes';
import { parseSharedFilter, topicMatches } from './topic';

// Mosquitto-style ACL files (mosquitto.conf(5), acl_file):
//   topic [read|write|readwrite|deny] <topic>    before any `user` line: anonymous clients;
//                                                after `user <name>`: that user
//   user <name>
//   pattern [read|write|readwrite|deny] <topic>  every client, with %u (username) and %c (client id)
// Access is granted when a rule grants it and no `deny` rule matches.

type Access = 'read' | 'write' | 'readwrite' | 'deny';

interface Rule {
  access: Access;
  topic: string;
}

export interface Acl {
  canPublish(username: string | undefined, clientId: string, topic: string): boolean;
  /** Checks a subscription filter (a `$share/<group>/` prefix is ignored). */
  canSubscribe(username: string | undefined, clientId: string, filter: string): boolean;
}

/**
 * True when every topic matched by `requested` is also matched by `allowed`, so a client
 * cannot widen its reach with a wildcard the rule did not give it.
 */
export function filterCovers(allowed: string, requested: string): boolean {
  const a = allowed.split('/');
  const r = requested.split('/');
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    // [MQTT-4.7.2-1] a rule starting with '#' or '+' does not reach '$' topics.
    if (level === '#') return !(i === 0 && requested.startsWith('$'));
    const want = r[i];
    if (want === undefined || want === '#') return false;
    if (level === '+') {
      if (i === 0 && want.startsWith('$')) return false;
      continue;
    }
    if (level !== want) return false;
  }
  return a.length === r.length;
}

const unsafe = /[+#/]/;

/**
 * Substitutes %u and %c. A value containing '+', '#' or '/' would widen the pattern (the
 * Mosquitto CVE-2017-7650 lesson), so such a pattern yields undefined: it grants nothing.
 */
function substitute(pattern: string, username: string | undefined, clientId: string): string | undefined {
  if (pattern.includes('%u') && (username === undefined || username === '' || unsafe.test(username))) return undefined;
  if (pattern.includes('%c') && (clientId === '' || unsafe.test(clientId))) return undefined;
  return pattern.replaceAll('%u', username ?? '').replaceAll('%c', clientId);
}

class ParsedAcl implements Acl {
  readonly anonymous: Rule[] = [];
  readonly users = new Map<string, Rule[]>();
  readonly patterns: Rule[] = [];

  canPublish(username: string | undefined, clientId: string, topic: string): boolean {
    return this.check(username, clientId, (rule, t) => topicMatches(t, topic), 'write');
  }

  canSubscribe(username: string | undefined, clientId: string, filter: string): boolean {
    const shared = parseSharedFilter(filter);
    const plain = shared ? shared.filter : filter;
    return this.check(username, clientId, (rule, t) => filterCovers(t, plain), 'read');
  }

  private check(username: string | undefined, clientId: string, matches: (rule: Rule, topic: string) => boolean, need: 'read' | 'write'): boolean {
    const direct = username === undefined ? this.anonymous : (this.users.get(username) ?? []);
    let granted = false;
    const consider = (rule: Rule, topic: string | undefined): boolean => {
      if (topic === undefined) {
        // An unsafe substitution: a deny rule still denies, an allow rule grants nothing.
        return rule.access === 'deny';
      }
      if (!matches(rule, topic)) return false;
      if (rule.access === 'deny') return true;
      if (rule.access === 'readwrite' || rule.access === need) granted = true;
      return false;
    };
    for (const rule of direct) if (consider(rule, rule.topic)) return false;
    for (const rule of this.patterns) if (consider(rule, substitute(rule.topic, username, clientId))) return false;
    return granted;
  }
}

/** Parses a Mosquitto acl_file; throws a BrokerError naming the offending line. */
export function parseAcl(text: string): Acl {
  const acl = new ParsedAcl();
  let current = acl.anonymous;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fail = (why: string): never => {
      throw new BrokerError('THINGSTEAD_ERR_BROKER_ACL_SYNTAX', `ACL line ${index + 1}: ${why}: ${line}`);
    };
    const match = /^(\S+)\s+(.*)$/.exec(line) ?? fail('expected a keyword and a value');
    const keyword = match[1];
    const rest = (match[2] ?? '').trim();
    if (keyword === 'user') {
      current = acl.users.get(rest) ?? [];
      acl.users.set(rest, current);
      return;
    }
    if (keyword !== 'topic' && keyword !== 'pattern') fail(`unknown keyword '${keyword ?? ''}'`);
    const accessMatch = /^(read|write|readwrite|deny)\s+(.+)$/.exec(rest);
    const rule: Rule = accessMatch ? { access: accessMatch[1] as Access, topic: (accessMatch[2] ?? '').trim() } : { access: 'readwrite', topic: rest };
    if (rule.topic === '') fail('missing topic');
    if (keyword === 'pattern') acl.patterns.push(rule);
    else current.push(rule);
  });
  return acl;
}
