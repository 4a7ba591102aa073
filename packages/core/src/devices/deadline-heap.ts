/**
 * A binary min-heap of (deadline, key): push and pop cost O(log n), the earliest deadline O(1). Deadlines and
 * keys sit in two parallel arrays, so an entry allocates nothing.
 */
export class DeadlineHeap {
  private ats: number[] = [];
  private keys: string[] = [];

  get size(): number {
    return this.ats.length;
  }

  /** The earliest deadline, or undefined when empty. */
  peek(): number | undefined {
    return this.ats[0];
  }

  push(at: number, key: string): void {
    this.ats.push(at);
    this.keys.push(key);
    this.up(this.ats.length - 1);
  }

  /** Removes and answers the entry of the earliest deadline. */
  pop(): { at: number; key: string } | undefined {
    const n = this.ats.length;
    if (n === 0) return undefined;
    const top = { at: this.ats[0] as number, key: this.keys[0] as string };
    const lastAt = this.ats.pop() as number;
    const lastKey = this.keys.pop() as string;
    if (n > 1) {
      this.ats[0] = lastAt;
      this.keys[0] = lastKey;
      this.down(0);
    }
    return top;
  }

  /** Replaces every entry (heapify, O(n)). */
  rebuild(entries: Iterable<[at: number, key: string]>): void {
    this.ats = [];
    this.keys = [];
    for (const [at, key] of entries) {
      this.ats.push(at);
      this.keys.push(key);
    }
    for (let i = (this.ats.length >> 1) - 1; i >= 0; i--) this.down(i);
  }

  private up(i: number): void {
    const at = this.ats[i] as number;
    const key = this.keys[i] as string;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pAt = this.ats[parent] as number;
      if (pAt <= at) break;
      this.ats[i] = pAt;
      this.keys[i] = this.keys[parent] as string;
      i = parent;
    }
    this.ats[i] = at;
    this.keys[i] = key;
  }

  private down(i: number): void {
    const n = this.ats.length;
    const at = this.ats[i] as number;
    const key = this.keys[i] as string;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && (this.ats[child + 1] as number) < (this.ats[child] as number)) child++;
      const cAt = this.ats[child] as number;
      if (cAt >= at) break;
      this.ats[i] = cAt;
      this.keys[i] = this.keys[child] as string;
      i = child;
    }
    this.ats[i] = at;
    this.keys[i] = key;
  }
}
