import type { Message } from './message';

class RetainedNode {
  readonly children = new Map<string, RetainedNode>();
  message: Message | undefined;
}

/** Retained messages by topic, as a trie so a wildcard SUBSCRIBE finds its matches without a scan. */
export class RetainedStore {
  private readonly root = new RetainedNode();
  private count = 0;

  get size(): number {
    return this.count;
  }

  set(message: Message): void {
    let node = this.root;
    for (const level of message.topic.split('/')) {
      let child = node.children.get(level);
      if (child === undefined) {
        child = new RetainedNode();
        node.children.set(level, child);
      }
      node = child;
    }
    if (node.message === undefined) this.count++;
    node.message = message;
  }

  delete(topic: string): boolean {
    const levels = topic.split('/');
    const path: RetainedNode[] = [this.root];
    let node: RetainedNode | undefined = this.root;
    for (const level of levels) {
      node = node.children.get(level);
      if (node === undefined) return false;
      path.push(node);
    }
    if (node.message === undefined) return false;
    node.message = undefined;
    this.count--;
    for (let i = levels.length; i > 0; i--) {
      const current = path[i];
      const parent = path[i - 1];
      if (current === undefined || parent === undefined || current.message !== undefined || current.children.size > 0) break;
      parent.children.delete(levels[i - 1] ?? '');
    }
    return true;
  }

  get(topic: string): Message | undefined {
    let node: RetainedNode | undefined = this.root;
    for (const level of topic.split('/')) {
      node = node.children.get(level);
      if (node === undefined) return undefined;
    }
    return node.message;
  }

  /** Retained messages matching a (plain) topic filter; expired ones are removed on the way. */
  match(filter: string, now: number): Message[] {
    const out: Message[] = [];
    this.walk(this.root, filter.split('/'), 0, out);
    const live: Message[] = [];
    for (const m of out) {
      // [MQTT-3.3.2-5] an expired retained message is not delivered.
      if (m.isExpired(now)) this.delete(m.topic);
      else live.push(m);
    }
    return live;
  }

  all(): Message[] {
    const out: Message[] = [];
    collectAll(this.root, out, false);
    return out;
  }

  private walk(node: RetainedNode, levels: string[], i: number, out: Message[]): void {
    if (i === levels.length) {
      if (node.message !== undefined) out.push(node.message);
      return;
    }
    const level = levels[i] ?? '';
    if (level === '#') {
      // "a/#" includes "a" itself (MQTT §4.7.1.2); at the root '$' topics are skipped [MQTT-4.7.2-1].
      if (i > 0 && node.message !== undefined) out.push(node.message);
      collectAll(node, out, i === 0);
      return;
    }
    if (level === '+') {
      for (const [name, child] of node.children) {
        if (i === 0 && name.startsWith('$')) continue;
        this.walk(child, levels, i + 1, out);
      }
      return;
    }
    const child = node.children.get(level);
    if (child !== undefined) this.walk(child, levels, i + 1, out);
  }
}

function collectAll(node: RetainedNode, out: Message[], skipDollar: boolean): void {
  for (const [name, child] of node.children) {
    if (skipDollar && name.startsWith('$')) continue;
    if (child.message !== undefined) out.push(child.message);
    collectAll(child, out, false);
  }
}
