import type { MatchResult, Router, SharedGroup, Subscription } from './router';

export type { MatchResult, SharedGroup, Subscription } from './router';

/** Members of one `$share/<group>/<filter>`, served round-robin (v5 §4.8.2). */
class TrieSharedGroup implements SharedGroup {
  readonly name: string;
  members: Subscription[] = [];
  next = 0;

  constructor(name: string) {
    this.name = name;
  }
}

interface TrieMatch extends MatchResult {
  readonly perClient: Subscription[][];
  readonly shared: SharedGroup[];
}

class TrieNode {
  readonly children = new Map<string, TrieNode>();
  readonly subs = new Map<string, Subscription>();
  readonly shared = new Map<string, TrieSharedGroup>();

  isEmpty(): boolean {
    return this.children.size === 0 && this.subs.size === 0 && this.shared.size === 0;
  }
}

const emptyMatch: TrieMatch = Object.freeze({ perClient: [], shared: [] });
const cacheLimit = 10_000;

/**
 * Subscription index: a trie over topic levels with `+` and `#` children, fronted by a
 * per-topic cache of match results that any subscription change invalidates. Publishing to
 * the same few topics again and again (the common IoT case) costs one Map lookup. The in-process adapter
 * of the Router port (router.ts), and the broker's default.
 */
export class SubscriptionTrie implements Router {
  private readonly root = new TrieNode();
  private readonly cache = new Map<string, TrieMatch>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds or replaces [MQTT-3.8.4-3] a subscription; returns true when it did not exist before. */
  add(sub: Subscription): boolean {
    let node = this.root;
    for (const level of sub.topicFilter.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = new TrieNode();
        node.children.set(level, child);
      }
      node = child;
    }
    this.cache.clear();
    if (sub.shareGroup === undefined) {
      const existed = node.subs.has(sub.sessionKey);
      node.subs.set(sub.sessionKey, sub);
      if (!existed) this.count++;
      return !existed;
    }
    let group = node.shared.get(sub.shareGroup);
    if (group === undefined) {
      group = new TrieSharedGroup(sub.shareGroup);
      node.shared.set(sub.shareGroup, group);
    }
    const index = group.members.findIndex((m) => m.sessionKey === sub.sessionKey);
    if (index >= 0) {
      group.members[index] = sub;
      return false;
    }
    group.members.push(sub);
    this.count++;
    return true;
  }

  remove(key: string, topicFilter: string, shareGroup: string | undefined): boolean {
    const path: TrieNode[] = [this.root];
    const levels = topicFilter.split('/');
    let node: TrieNode | undefined = this.root;
    for (const level of levels) {
      node = node.children.get(level);
      if (node === undefined) return false;
      path.push(node);
    }
    let removed = false;
    if (shareGroup === undefined) {
      removed = node.subs.delete(key);
    } else {
      const group = node.shared.get(shareGroup);
      if (group !== undefined) {
        const index = group.members.findIndex((m) => m.sessionKey === key);
        if (index >= 0) {
          group.members.splice(index, 1);
          removed = true;
          if (group.members.length === 0) node.shared.delete(shareGroup);
        }
      }
    }
    if (!removed) return false;
    this.count--;
    this.cache.clear();
    for (let i = levels.length; i > 0; i--) {
      const current = path[i];
      const parent = path[i - 1];
      if (current === undefined || parent === undefined || !current.isEmpty()) break;
      parent.children.delete(levels[i - 1] ?? '');
    }
    return true;
  }

  clearSession(sessionKey: string, subscriptions: Iterable<Subscription>): void {
    for (const s of subscriptions) this.remove(sessionKey, s.topicFilter, s.shareGroup);
  }

  hasSubscribers(topic: string): boolean {
    const m = this.match(topic);
    return m.perClient.length > 0 || m.shared.length > 0;
  }

  match(topic: string): TrieMatch {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const byClient = new Map<string, Subscription[]>();
    const shared: SharedGroup[] = [];
    this.walk(this.root, topic.split('/'), 0, topic.startsWith('$'), byClient, shared);
    const result: TrieMatch = byClient.size === 0 && shared.length === 0 ? emptyMatch : { perClient: [...byClient.values()], shared };
    if (this.cache.size >= cacheLimit) this.cache.clear();
    this.cache.set(topic, result);
    return result;
  }

  private walk(node: TrieNode, levels: string[], i: number, dollar: boolean, byClient: Map<string, Subscription[]>, shared: SharedGroup[]): void {
    // [MQTT-4.7.2-1] a '$' topic is not matched by a wildcard in the first level.
    const wildcardsAllowed = !(i === 0 && dollar);
    if (wildcardsAllowed) {
      const hash = node.children.get('#');
      // '#' also matches the parent level: "a/#" matches "a" (MQTT §4.7.1.2).
      if (hash !== undefined) collect(hash, byClient, shared);
    }
    if (i === levels.length) {
      collect(node, byClient, shared);
      return;
    }
    const level = levels[i] ?? '';
    const exact = node.children.get(level);
    if (exact !== undefined) this.walk(exact, levels, i + 1, dollar, byClient, shared);
    if (wildcardsAllowed) {
      const plus = node.children.get('+');
      if (plus !== undefined) this.walk(plus, levels, i + 1, dollar, byClient, shared);
    }
  }
}

function collect(node: TrieNode, byClient: Map<string, Subscription[]>, shared: SharedGroup[]): void {
  for (const sub of node.subs.values()) {
    const list = byClient.get(sub.sessionKey);
    if (list === undefined) byClient.set(sub.sessionKey, [sub]);
    else list.push(sub);
  }
  for (const group of node.shared.values()) shared.push(group);
}
