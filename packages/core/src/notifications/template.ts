/**
 * Notification templates: `{{path.to.field}}` placeholders filled from a context object. Nothing is evaluated:
 * a placeholder is a dotted path of own properties (array indices included), looked up with Object.hasOwn, so
 * `__proto__`, `constructor` and `prototype` never reach an object's prototype; they render as empty text.
 */
const placeholder = /\{\{\s*([A-Za-z0-9_$-]+(?:\.[A-Za-z0-9_$-]+)*)\s*\}\}/g;
const forbidden = new Set(['__proto__', 'constructor', 'prototype']);

/** The value at a dotted path of own properties, or undefined. */
export function lookup(context: unknown, path: string): unknown {
  let v: unknown = context;
  for (const segment of path.split('.')) {
    if (forbidden.has(segment) || v === null || typeof v !== 'object' || !Object.hasOwn(v, segment)) return undefined;
    v = (v as Record<string, unknown>)[segment];
  }
  return v;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (typeof v === 'object') {
    try {
      return JSON.stringify(v);
    } catch {
      return ''; // a cycle or a BigInt inside: nothing sensible to show
    }
  }
  return ''; // functions and symbols are not data
}

/** Renders `template` with `context`: a missing value is empty text, an object or array its JSON. */
export function renderTemplate(template: string, context: unknown): string {
  return template.replace(placeholder, (_, path: string) => text(lookup(context, path)));
}
