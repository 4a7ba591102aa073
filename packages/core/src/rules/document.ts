import type { Rule, RuleDocument } from './model';

/** The fields of a rule that are its document (what is validated, stored, versioned and exported), in a stable order. */
export const ruleDocumentFields = ['name', 'description', 'enabled', 'scope', 'trigger', 'condition', 'analytics', 'actions'] as const;

/** Only the document's own fields of a rule or an input (extra fields of a stored rule, such as id and version, left out). */
export function documentOf(input: RuleDocument | Rule): RuleDocument {
  const out: Record<string, unknown> = {};
  for (const k of ruleDocumentFields) if (input[k] !== undefined) out[k] = input[k];
  return out as unknown as RuleDocument;
}
