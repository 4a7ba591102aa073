import { defaultLimits } from '@thingstead/broker';
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * The one configuration schema (DESIGN.md invariant 5). Units are in the names. Every setting can be given in
 * thingstead.yaml (nested as below) or as an environment variable THINGSTEAD_<PATH> (dots and camelCase
 * become underscores: http.port -> THINGSTEAD_HTTP_PORT). docs/reference/config.md is generated from this.
 * A component's options carry these names (see slices.ts), so a setting has one name from here to its use.
 * `thingstead start` reads every section but `broker`; `thingstead broker` reads `broker` only.
 */
const port = (def: number, description: string) => Type.Integer({ minimum: 0, maximum: 65535, default: def, description });
const int = (def: number, min: number, max: number, description: string) => Type.Integer({ minimum: min, maximum: max, default: def, description });

export const configSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1, default: './data', description: 'Directory for the database and generated secrets.' }),
    host: Type.String({ minLength: 1, default: '0.0.0.0', description: 'Address the listeners bind to.' }),
    http: Type.Object(
      {
        port: port(8080, 'HTTP port for the REST API, device HTTP API, console and MQTT over WebSocket; 0 picks a free port.'),
        bodyLimitBytes: int(1_048_576, 1024, 64 * 1_048_576, 'Largest request body accepted; larger bodies get 413.'),
        trustProxy: Type.Boolean({ default: false, description: 'Take the client address from X-Forwarded-For (behind a reverse proxy).' }),
      },
      { additionalProperties: false, default: {} },
    ),
    mqtt: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Run the MQTT broker (TCP, and TLS and WebSocket if configured).' }),
        port: port(1883, 'MQTT over TCP; 0 picks a free port.'),
        websocket: Type.Boolean({ default: true, description: 'Accept MQTT over WebSocket at /mqtt on the HTTP port (subprotocol mqtt).' }),
        maxPacketBytes: int(266_240, 1024, 256 * 1_048_576, 'Largest MQTT packet accepted; larger is refused (v5: 0x95) before it is buffered.'),
        maxConnections: int(15_000, 1, 1_000_000, 'Most simultaneous MQTT connections.'),
        maxQueuedMessages: int(1000, 1, 1_000_000, 'Messages queued per client (offline or slow) before the oldest QoS 0, then the oldest, are dropped.'),
        connectTimeoutMs: int(10_000, 100, 600_000, 'Time a new connection has to send CONNECT.'),
        maxPendingMessagesPerClient: int(
          100,
          1,
          65_535,
          'PUBLISH packets of one connection waiting for their commit; at this many the connection is no longer read until some are acknowledged (back-pressure: a device pipelining faster than its share gets slower acks).',
        ),
        maxKeepAliveSec: int(
          1200,
          0,
          65_535,
          'Longest keep-alive an MQTT 5 client may use: one asking for more, or for none (0), is sent this as Server Keep Alive in CONNACK and is disconnected after 1.5 times it without a packet. 3.1.1 clients keep theirs (3.1.1 cannot tell them). 0: no cap.',
        ),
        maxSessionsPerPrincipal: int(
          100,
          1,
          1_000_000,
          'MQTT sessions (connected or stored) one device or user may hold, one per client id; a CONNECT that would open one more is refused (v5 CONNACK 0x97, 3.1.1 return code 3).',
        ),
        persistSessions: Type.Boolean({
          default: true,
          description: 'Keep persistent sessions and retained messages in broker.db in the data directory, across restarts.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    ws: Type.Object(
      {
        maxConnections: int(10_000, 1, 1_000_000, 'Most simultaneous live API WebSockets (/api/ws); one more is answered 503.'),
        authTimeoutMs: int(
          5000,
          100,
          600_000,
          'Time a live API socket without an Authorization header has to send its auth message; then it is closed with 4408.',
        ),
        maxMessageBytes: int(65_536, 1024, 16 * 1_048_576, 'Largest message a live API client may send; a larger one closes the socket (1009).'),
        maxQueuedMessages: int(
          1000,
          1,
          1_000_000,
          'Messages waiting for one live API client beyond what its socket holds; then latest values are conflated per key, and what cannot be merged (series values, events) closes the socket with 4429.',
        ),
        maxSubscriptionsPerSession: int(100, 1, 10_000, 'Subscriptions one live API socket may hold.'),
        maxHistoryPoints: int(
          10_000,
          1,
          1_000_000,
          'Stored values per key a series subscription may read before going live; more is refused (a later start is needed).',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    mqtts: Type.Object(
      {
        port: Type.Optional(
          Type.Integer({ minimum: 0, maximum: 65535, description: 'MQTT over TLS (usually 8883); needs certFile and keyFile. Unset: no TLS listener.' }),
        ),
        certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) for MQTT over TLS; re-read on SIGHUP.' })),
        keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key for MQTT over TLS; re-read on SIGHUP.' })),
      },
      { additionalProperties: false, default: {} },
    ),
    // HTTPS beside the plain HTTP listener (transports/http/https-listener.ts), the same app on both.
    https: Type.Object(
      {
        port: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 65535,
            description:
              'HTTPS port (usually 8443 or 443) for everything the HTTP port serves, MQTT over WebSocket included (wss://.../mqtt); needs certFile and keyFile. The HTTP port keeps serving plain HTTP. Unset: no HTTPS listener.',
          }),
        ),
        certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate (chain) for HTTPS; re-read on SIGHUP.' })),
        keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key for HTTPS; re-read on SIGHUP.' })),
        hstsMaxAgeSec: int(
          31_536_000,
          0,
          63_072_000,
          'Strict-Transport-Security max-age sent on responses over HTTPS (the HTTPS port, or with http.trustProxy X-Forwarded-Proto: https; never plain HTTP). A browser that saw it uses only HTTPS for this host name, on every port, that long; 0 sends none.',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    shutdown: Type.Object(
      {
        drainTimeoutMs: int(
          10_000,
          0,
          600_000,
          'On SIGTERM/SIGINT: how long requests and MQTT messages already received may take to be committed and answered, while new work is refused (HTTP 503, MQTT CONNACK 0x88); then what is left is cut off and the process exits.',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
          {
            default: 'info',
            description: 'Log level.',
          },
        ),
        format: Type.Union(
          ['auto', 'json', 'pretty'].map((l) => Type.Literal(l)),
          {
            default: 'auto',
            description:
              'How log lines are written to stdout: json (one pino JSON object per line, for log shippers), pretty (coloured, human-readable lines), or auto: pretty when stdout is a terminal, json otherwise. `thingstead start --pretty` sets pretty.',
          },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    // Where GET /metrics is served and who may read it (transports/http/ops-listener.ts).
    metrics: Type.Object(
      {
        port: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 65535,
            description:
              'Serve /metrics (with /healthz and /readyz) on this port of its own, and not on the HTTP port, e.g. 9464 on a private address. Unset: /metrics is on the HTTP port.',
          }),
        ),
        host: Type.Optional(Type.String({ minLength: 1, description: 'Address the metrics port binds to. Unset: the same as host.' })),
        bearerToken: Type.Optional(
          Type.String({
            minLength: 16,
            description:
              'When set, GET /metrics (on whichever port serves it) needs `Authorization: Bearer <this>` (Prometheus: `authorization: {credentials: ...}`); others get 401.',
          }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    admin: Type.Object(
      {
        email: Type.String({
          pattern: '^[^\\s@]+@[^\\s@]+$',
          maxLength: 254,
          default: 'admin@thingstead.local',
          description: 'Email of the system admin created on first start.',
        }),
        password: Type.Optional(
          Type.String({ minLength: 8, description: 'Password of the system admin created on first start. Unset: a strong one is generated and printed once.' }),
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    auth: Type.Object(
      {
        jwtSecret: Type.Optional(
          Type.String({
            minLength: 32,
            description: 'Secret for signing access tokens. Unset: generated once and kept in the file jwt-secret in the data directory.',
          }),
        ),
        accessTokenTtlSec: int(900, 60, 86_400, 'Lifetime of an access token (JWT).'),
        refreshTokenTtlSec: int(2_592_000, 300, 31_536_000, 'Lifetime of a refresh token.'),
        loginMaxFailures: int(
          5,
          1,
          1000,
          'Failed logins for one email from one address before that address is locked out of it (4x as many from one address for any emails lock the address). From anywhere, this many only slow the email down (loginSlowdownMs); the right password from another address still works.',
        ),
        loginLockoutSec: int(300, 1, 86_400, 'First lockout, and the window failures are counted in; the lockout doubles with each further one, up to a day.'),
        loginSlowdownMs: int(
          1000,
          0,
          10_000,
          'Delay before answering every login of an email that had loginMaxFailures failures (from any addresses) in the window; 0 turns it off.',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    storage: Type.Object(
      {
        driver: Type.Literal('sqlite', { default: 'sqlite', description: 'Storage adapter. sqlite keeps everything in thingstead.db in the data directory.' }),
        sqliteSynchronous: Type.Union([Type.Literal('full'), Type.Literal('normal')], {
          default: 'full',
          description: 'For thingstead.db and broker.db alike. full: every commit survives power loss; normal: survives a process crash only, faster.',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    telemetry: Type.Object(
      {
        retentionDays: int(
          0,
          0,
          36_500,
          'Delete telemetry older than this many days; 0 keeps it forever. The SQLite engine deletes whole UTC days, so it keeps between this many days and one more.',
        ),
        retentionCheckIntervalSec: int(3600, 10, 86_400, 'How often the retention job runs.'),
        retentionBatchRows: int(
          5000,
          100,
          1_000_000,
          'Retention work per step where a store deletes row by row (the memory store); the SQLite engine drops one whole day per step.',
        ),
        maxKeyLength: int(255, 1, 1024, 'Longest telemetry or attribute key.'),
        maxValueBytes: int(65_536, 16, 16 * 1_048_576, 'Largest string or JSON value of telemetry or of an attribute.'),
        maxPointsPerMessage: int(5000, 1, 1_000_000, 'Most values in one telemetry message.'),
        maxPayloadBytes: int(262_144, 64, 64 * 1_048_576, 'Largest telemetry payload a device may send (HTTP body); larger gets 413.'),
        maxKeysPerDevice: int(
          1000,
          1,
          1_000_000,
          'Most distinct telemetry keys one device may have; a message that would add more is refused whole (HTTP 409, MQTT 5 0x97).',
        ),
        maxKeysPerTenant: int(
          10_000,
          1,
          100_000_000,
          'Most distinct telemetry keys over all devices of a tenant (a key used by many devices counts once); over it, as above.',
        ),
        maxFutureSkewMs: int(86_400_000, 0, 31_536_000_000, 'How far in the future a device timestamp may be.'),
        groupCommitMaxRows: int(
          5000,
          1,
          1_000_000,
          'Group commit: commit once this many values wait; also the most values in one transaction (a larger message commits alone). More waiting is committed one batch per event-loop turn.',
        ),
        groupCommitMaxDelayMs: int(2, 0, 1000, 'Group commit: commit at the latest this long after the first value arrived.'),
        maxPendingPoints: int(
          200_000,
          1000,
          100_000_000,
          'Values waiting for commit before ingest is refused (HTTP 503, MQTT 5 PUBACK 0x97), bounding memory.',
        ),
        maxPendingPointsPerDevice: int(
          25_000,
          1,
          100_000_000,
          "One device's share of that queue (at most maxPendingPoints): more of its values waiting are refused like a full queue, while other devices still get in. A message larger than this is taken when nothing of the device waits.",
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    broker: Type.Object(
      {
        port: port(1883, 'MQTT over TCP; 0 picks a free port. Flag: --port.'),
        host: Type.Optional(Type.String({ minLength: 1, description: 'Address to bind. Unset: every address (IPv4 and IPv6). Flag: --host.' })),
        allowAnonymous: Type.Boolean({
          default: false,
          description: 'Accept clients without a username (Mosquitto allow_anonymous). Flag: --allow-anonymous.',
        }),
        passwordFile: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Mosquitto password file (mosquitto_passwd format). Unset: only anonymous clients can connect. Flag: --password-file.',
          }),
        ),
        aclFile: Type.Optional(
          Type.String({
            minLength: 1,
            description:
              'Mosquitto ACL file (user, topic and pattern rules with %u and %c). Unset: every client may publish and subscribe anywhere. Flag: --acl.',
          }),
        ),
        dataDir: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Keep persistent sessions and retained messages in broker.db in this directory, across restarts. Unset: in memory. Flag: --data-dir.',
          }),
        ),
        maxPacketBytes: int(
          defaultLimits.maxPacketBytes,
          1024,
          256 * 1_048_576,
          'Largest MQTT packet accepted; larger is refused (v5: 0x95) before it is buffered.',
        ),
        maxConnections: int(defaultLimits.maxConnections, 1, 1_000_000, 'Most simultaneous MQTT connections.'),
        maxQueuedMessages: int(
          defaultLimits.maxQueuedMessages,
          1,
          1_000_000,
          'Messages queued per client (offline or slow) before the oldest QoS 0, then the oldest, are dropped.',
        ),
        connectTimeoutMs: int(defaultLimits.connectTimeoutMs, 100, 600_000, 'Time a new connection has to send CONNECT.'),
        maxKeepAliveSec: int(
          defaultLimits.maxKeepAliveSec,
          0,
          65_535,
          'Longest keep-alive an MQTT 5 client may use (it is sent this as Server Keep Alive in CONNACK when it asks for more, or for none). 0: no cap.',
        ),
        maxSessionsPerPrincipal: int(
          defaultLimits.maxSessionsPerPrincipal,
          0,
          1_000_000,
          'MQTT sessions (connected or stored) one user of the password file may hold, one per client id (anonymous clients count as one user); one more is refused (v5 CONNACK 0x97, 3.1.1 return code 3). 0: no limit.',
        ),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof configSchema>;

export interface Setting {
  path: string[];
  env: string;
  schema: TSchema;
}

export const envName = (path: readonly string[]): string => 'THINGSTEAD_' + path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_');

/** Every leaf setting with its environment variable, in schema order. */
export function settings(schema: TSchema = configSchema, path: string[] = []): Setting[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (schema.type === 'object' && props) return Object.entries(props).flatMap(([k, s]) => settings(s, [...path, k]));
  return [{ path, env: envName(path), schema }];
}
