import { errorCatalogue, type ErrorName } from '@thingstead/core';
import type { TSchema } from '@sinclair/typebox';
import { settings } from '../config/schema';

/** docs/reference/config.md and errors.md are generated from the schema and the catalogue, so they stay true. */
export function renderConfigDoc(): string {
  const rows = settings().map(({ path, env, schema }) => {
    const s = schema as TSchema & { default?: unknown; minimum?: number; maximum?: number; anyOf?: { const: string }[]; const?: string };
    const type = s.anyOf ? s.anyOf.map((x) => `\`${x.const}\``).join(' \\| ') : s.const !== undefined ? `\`${s.const}\`` : String(s.type);
    const range = s.minimum !== undefined ? ` (${s.minimum}–${s.maximum ?? '∞'})` : '';
    const def = s.default === undefined ? '*(unset)*' : `\`${JSON.stringify(s.default)}\``;
    return `| \`${path.join('.')}\` | \`${env}\` | ${type}${range} | ${def} | ${s.description ?? ''} |`;
  });
  return `# Configuration reference

<!-- Generated from packages/server/src/config/schema.ts by \`npm run docs\`; a test fails when it is stale. -->

Thingstead reads its settings once at start, in this order (later wins):

1. the defaults below;
2. a YAML file: \`--config <file>\`, else \`THINGSTEAD_CONFIG\`, else \`./thingstead.yaml\` if it exists;
3. environment variables \`THINGSTEAD_*\`;
4. for \`thingstead broker\`, its flags: \`--port\`, \`--host\`, \`--allow-anonymous\`, \`--password-file\`, \`--acl\` and
   \`--data-dir\` set \`broker.port\`, \`broker.host\`, \`broker.allowAnonymous\`, \`broker.passwordFile\`, \`broker.aclFile\`
   and \`broker.dataDir\`.

\`thingstead start\` reads every section but \`broker\`; \`thingstead broker\` (the MQTT broker alone, see
[mqtt.md](mqtt.md#standalone-broker)) reads only \`broker\`, whose limits default to the broker library's.

Every setting has an environment variable: the path in upper snake case (\`http.port\` → \`THINGSTEAD_HTTP_PORT\`).
In the file, settings nest by path:

\`\`\`yaml
dataDir: /var/lib/thingstead
http:
  port: 8080
telemetry:
  retentionDays: 90
\`\`\`

Invalid settings stop the start with exit code 2 and a list of every problem, each naming the variable or flag
its value came from. An unknown \`THINGSTEAD_*\` variable or file key is a problem too (it is usually a typo).
The loaded config is frozen; only \`cli.ts\` reads the environment.

| setting | environment variable | type | default | meaning |
|---|---|---|---|---|
${rows.join('\n')}
`;
}

export function renderErrorsDoc(): string {
  const rows = (Object.keys(errorCatalogue) as ErrorName[]).map((k) => {
    const e = errorCatalogue[k];
    return `| \`THINGSTEAD_ERR_${k}\` | ${e.status} | ${e.message} | ${e.hint} |`;
  });
  return `# Error reference

<!-- Generated from packages/core/src/errors.ts by \`npm run docs\`; a test fails when it is stale. -->

Every HTTP error has the same JSON shape:

\`\`\`json
{
  "statusCode": 404,
  "code": "THINGSTEAD_ERR_NOT_FOUND",
  "error": "Not Found",
  "message": "Device not found.",
  "hint": "Check the id; you can only see resources of your own tenant.",
  "details": {}
}
\`\`\`

\`code\` is stable: match on it, not on \`message\`. \`details\` is optional and names the field or path at fault
(for example \`{"field":"limit"}\` or \`{"path":"$[1].values"}\`). A \`401\` carries \`WWW-Authenticate: Bearer\`; a
\`429\` or \`503\` carries \`Retry-After\` in seconds (also in \`details.retryAfterSec\` where the server chose it). A resource of another tenant answers \`404\`, exactly like one that
does not exist.

| code | HTTP status | message | hint |
|---|---|---|---|
${rows.join('\n')}
`;
}
