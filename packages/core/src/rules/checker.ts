import { expressionProblem } from './expressions';

/** One problem of a rule document, at a JSON Pointer (RFC 6901) such as /condition/conditions/1/key. */
export interface RuleProblem {
  path: string;
  message: string;
}

/**
 * Collects every problem of a document with the field it is at, so one save answers all of them. Each check
 * returns the value when it is valid and undefined otherwise, so a caller can stop descending.
 */
export class Checker {
  readonly problems: RuleProblem[] = [];

  add(path: string, message: string): void {
    if (this.problems.length < 100) this.problems.push({ path: path || '/', message });
  }

  object(v: unknown, path: string, allowed: readonly string[], required: readonly string[] = []): Record<string, unknown> | undefined {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      this.add(path, 'must be an object');
      return undefined;
    }
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!allowed.includes(k)) this.add(`${path}/${escape(k)}`, `is not a field here (allowed: ${allowed.join(', ')})`);
    for (const k of required) if (o[k] === undefined) this.add(`${path}/${k}`, 'is required');
    return o;
  }

  string(v: unknown, path: string, min = 1, max = 256): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.bad(path, 'must be a string');
      return;
    }
    if (v.length < min || v.length > max) {
      this.bad(path, min === max ? `must be ${min} characters` : `must be ${min} to ${max} characters`);
      return;
    }
    return v;
  }

  number(v: unknown, path: string): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.bad(path, 'must be a finite number');
      return;
    }
    return v;
  }

  integer(v: unknown, path: string, min: number, max: number, unit = ''): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.bad(path, `must be an integer from ${min} to ${max}${unit}`);
      return;
    }
    return v;
  }

  boolean(v: unknown, path: string): boolean | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.bad(path, 'must be true or false');
      return;
    }
    return v;
  }

  oneOf<T extends string>(v: unknown, path: string, values: readonly T[]): T | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !values.includes(v as T)) {
      this.bad(path, `must be one of ${values.join(', ')}`);
      return;
    }
    return v as T;
  }

  array(v: unknown, path: string, min: number, max: number): unknown[] | undefined {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) {
      this.bad(path, 'must be an array');
      return;
    }
    if (v.length < min || v.length > max) {
      this.bad(path, `must have ${min} to ${max} items`);
      return;
    }
    return v as unknown[];
  }

  strings(v: unknown, path: string, max: number, itemMax = 256): string[] | undefined {
    const a = this.array(v, path, 0, max);
    if (!a) return undefined;
    let bad = 0;
    for (const [i, s] of a.entries()) if (this.string(s, `${path}/${i}`, 1, itemMax) === undefined) bad++;
    return bad === 0 ? (a as string[]) : undefined;
  }

  /** A JSONata expression that compiles; the problem names its position. */
  expression(v: unknown, path: string): string | undefined {
    const s = this.string(v, path, 1, 4096);
    if (s === undefined) return undefined;
    const problem = expressionProblem(s);
    if (problem !== undefined) {
      this.bad(path, `is not a valid JSONata expression: ${problem}`);
      return;
    }
    return s;
  }

  /** At most `max` bytes of JSON. */
  json(v: unknown, path: string, max: number): unknown {
    if (v === undefined) return undefined;
    let text: unknown;
    try {
      text = JSON.stringify(v);
    } catch {
      text = undefined;
    }
    if (typeof text !== 'string') {
      this.add(path, 'must be JSON');
      return undefined;
    }
    if (Buffer.byteLength(text) > max) {
      this.add(path, `must be at most ${max} bytes of JSON`);
      return undefined;
    }
    return v;
  }

  private bad(path: string, message: string): undefined {
    this.add(path, message);
    return undefined;
  }
}

/** RFC 6901 escaping of one reference token. */
function escape(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(path: string, token: string | number): string {
  return `${path}/${typeof token === 'number' ? token : escape(token)}`;
}
