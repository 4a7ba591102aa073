import { brokerErrorHints, ReasonCode, type BrokerErrorCode } from '@thingstead/broker';
import { errorCatalogue, type ErrorName } from '@thingstead/core';
import type { TSchema } from '@sinclair/typebox';
import { settings } from '../config/schema';
import { defaultMetricNames, Metrics } from '../metrics';
import { httpStatus } from '../transports/http/errors';
import { connectionReasonCodes, publishReasonCodeTable } from '../transports/mqtt/reason-codes';

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

const hex = (n: number): string => `0x${n.toString(16).toUpperCase().padStart(2, '0')}`;
const reasonName = (n: number): string => Object.entries(ReasonCode).find(([, v]) => v === n)?.[0] ?? '';

export function renderErrorsDoc(): string {
  const rows = (Object.keys(errorCatalogue) as ErrorName[]).map((k) => {
    const e = errorCatalogue[k];
    return `| \`THINGSTEAD_ERR_${k}\` | ${httpStatus[k]} | ${e.message} | ${e.hint} |`;
  });
  const publishRows = publishReasonCodeTable().map(
    (r) =>
      `| PUBACK / PUBREC | ${hex(r.reasonCode)} ${reasonName(r.reasonCode)} | ${r.kinds.map((k) => `\`THINGSTEAD_ERR_${k}\``).join(', ')}: the message was refused, nothing of it was stored (3.1.1: the connection is closed without an acknowledgement). |`,
  );
  const connectionRows = connectionReasonCodes.map((r) => `| ${r.packet} | ${hex(r.reasonCode)} ${reasonName(r.reasonCode)} | ${r.meaning} |`);
  const brokerRows = (Object.keys(brokerErrorHints) as BrokerErrorCode[]).map((k) => `| \`${k}\` | ${brokerErrorHints[k]} |`);
  return `# Error reference

<!-- Generated from packages/core/src/errors.ts (codes, messages, hints) and packages/server/src/transports/http/errors.ts (HTTP statuses) by \`npm run docs\`; a test fails when it is stale. -->

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

## MQTT reason codes

<!-- From packages/server/src/transports/mqtt/reason-codes.ts. -->

Over MQTT 5 the platform answers with these reason codes (v5 spec §2.4), and the reason string carries the
message of the error. Any other error while handling a PUBLISH closes that connection without an
acknowledgement, so nothing unstored is acknowledged.

| packet | reason code | meaning |
|---|---|---|
${[...publishRows, ...connectionRows].join('\n')}

## Broker errors

<!-- From packages/broker/src/reason-codes.ts. -->

The broker (\`packages/broker\`, also \`thingstead broker\`) reports its own errors as \`BrokerError\` with these
codes, in the server log and in the standalone broker's output; a client sees only the MQTT reason code that goes
with one.

| code | hint |
|---|---|
${brokerRows.join('\n')}
`;
}

/** docs/reference/metrics.md, from the metrics the server registers (a Metrics with the broker and the live API observed). */
export function renderMetricsDoc(): string {
  const m = new Metrics({ pendingPoints: () => 0, replacedPoints: () => 0 });
  const notScraped = (): never => {
    throw new Error('not scraped while the doc is rendered');
  };
  m.observeLiveApi(notScraped);
  m.observeBroker(notScraped);
  m.observeRules(notScraped, notScraped);
  const all = m.registry.getMetricsAsArray() as unknown as { name: string; help: string; type: string; labelNames?: string[] }[];
  const platform = all.filter((x) => !defaultMetricNames.has(x.name));
  const defaults = all.filter((x) => defaultMetricNames.has(x.name));
  const row = (x: (typeof all)[number]) =>
    `| \`${x.name}\` | ${x.type} | ${(x.labelNames ?? []).map((l) => `\`${l}\``).join(', ')} | ${x.help.replaceAll('|', '\\|')} |`;
  return `# Metrics reference

<!-- Generated from packages/server/src/metrics.ts by \`npm run docs\`; a test fails when it is stale. -->

\`GET /metrics\` serves these in the Prometheus text format: on the HTTP port, or only on \`metrics.port\` when that
is set; with \`metrics.bearerToken\` set, only to \`Authorization: Bearer <token>\` (config: docs/reference/config.md;
scraping, alerts and the Grafana dashboard: docs/operations/monitoring.md). Running totals are counters and end in
\`_total\`; nothing else does. Labels have few values each: never a device, user or client id. The broker's figures
are read when Prometheus scrapes.

| metric | type | labels | meaning |
|---|---|---|---|
${platform.map(row).join('\n')}

## Process and Node.js runtime

prom-client's default metrics, with the same \`thingstead_\` prefix (its three \`*_total\` gauges of active handles,
requests and resources are left out: sum the by-type gauges instead).

| metric | type | labels | meaning |
|---|---|---|---|
${defaults.map(row).join('\n')}
`;
}
