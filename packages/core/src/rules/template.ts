/**
 * {{path.to.field}} placeholders over a context object: a missing field renders empty, an object as JSON. Only
 * own properties are followed (no __proto__ or constructor), and nothing is executed.
 */
export function renderTemplate(template: string, context: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.$-]+)\s*\}\}/g, (_m, path: string) => {
    let v: unknown = context;
    for (const k of path.split('.')) {
      if (v === null || typeof v !== 'object' || !Object.hasOwn(v, k)) return '';
      v = (v as Record<string, unknown>)[k];
    }
    if (typeof v === 'string') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (v === undefined || v === null) return '';
    const json: unknown = JSON.stringify(v);
    return typeof json === 'string' ? json : '';
  });
}
