export const attributeScopes = ['shared', 'server'] as const;
