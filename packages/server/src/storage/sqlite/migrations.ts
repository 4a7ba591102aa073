/**
 * Schema migrations, applied in order; PRAGMA user_version records how many ran. Append, never edit a
 * migration that has shipped.
 */
export const migrations: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  );
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX users_tenant ON users(tenant_id);
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
  );
  CREATE INDEX api_keys_tenant ON api_keys(tenant_id);
  CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    secret_hash TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
  CREATE TABLE device_profiles (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    default_settings TEXT NOT NULL,
    is_default INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
  );
  -- seq is the compact key telemetry rows use; id is the public UUID.
  CREATE TABLE devices (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    profile_id TEXT NOT NULL REFERENCES device_profiles(id),
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
  );
  CREATE INDEX devices_profile ON devices(profile_id);
  CREATE TABLE device_credentials (
    device_seq INTEGER PRIMARY KEY REFERENCES devices(seq) ON DELETE CASCADE,
    type TEXT NOT NULL,
    access_token TEXT UNIQUE,
    mqtt_client_id TEXT,
    mqtt_username TEXT UNIQUE,
    mqtt_password_hash TEXT
  );
  CREATE INDEX device_credentials_client ON device_credentials(mqtt_client_id);
  -- Telemetry keys are dictionary-coded: rows carry a small integer instead of the key text.
  CREATE TABLE ts_keys (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE
  );
  -- One typed value column is set per row (num, str, bool or json), as in ThingsBoard's ts_kv.
  CREATE TABLE telemetry (
    device INTEGER NOT NULL,
    key INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    num REAL,
    str TEXT,
    bool INTEGER,
    json TEXT,
    PRIMARY KEY (device, key, ts)
  ) WITHOUT ROWID;
  -- For retention: expired rows are found by time alone.
  CREATE INDEX telemetry_ts ON telemetry(ts);
  CREATE TABLE latest (
    device INTEGER NOT NULL,
    key INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    num REAL,
    str TEXT,
    bool INTEGER,
    json TEXT,
    PRIMARY KEY (device, key)
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE device_connectivity (
    device_seq INTEGER PRIMARY KEY REFERENCES devices(seq) ON DELETE CASCADE,
    last_connect_at INTEGER,
    last_disconnect_at INTEGER,
    last_activity_at INTEGER
  );
  `,
  `
  -- Retention now deletes series by series through the primary key (ADR 0002); the ts index only cost.
  DROP INDEX IF EXISTS telemetry_ts;
  `,
  `
  -- Finds whether any device still uses a dictionary key, so deleting devices also deletes keys nobody uses
  -- (the dictionary is shared by all tenants and must not grow with devices that are gone). Ingest changes
  -- latest.key only when a series is new, so the index costs nothing per point.
  CREATE INDEX latest_key ON latest(key);
  `,
  `
  -- Refresh token families: a token exchanged from another shares its family, so reusing a rotated token
  -- revokes every token descending from the same login. Existing tokens each start their own family.
  ALTER TABLE refresh_tokens ADD COLUMN family_id TEXT;
  UPDATE refresh_tokens SET family_id = id;
  CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
  `,
  `
  -- A disabled user can neither log in nor use tokens, API keys or MQTT (issue 6).
  ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- The time-series engine (docs/adr/0007): a series row per (device, key) with its latest value and how far
  -- the write-ahead log is folded into chunks; chunks live in per-day tables tsc_<day> listed in ts_partitions,
  -- hourly rollups in tables tsr_<block> of 32 days listed in ts_rollup_blocks; ts_meta holds the retention
  -- watermark. AUTOINCREMENT: a deleted series' id is never reused, so log records of a
  -- deleted device can never land on a new one. The old per-point rows are converted when the store opens.
  CREATE TABLE ts_series (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device INTEGER NOT NULL,
    key INTEGER NOT NULL,
    flushed_lsn INTEGER NOT NULL DEFAULT 0,
    max_ts INTEGER,
    latest_ts INTEGER,
    num REAL,
    str TEXT,
    bool INTEGER,
    json TEXT,
    UNIQUE (device, key)
  );
  CREATE INDEX ts_series_key ON ts_series(key);
  INSERT INTO ts_series (device, key, latest_ts, num, str, bool, json) SELECT device, key, ts, num, str, bool, json FROM latest;
  DROP TABLE latest;
  CREATE TABLE ts_partitions (
    day INTEGER PRIMARY KEY,
    points INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE ts_rollup_blocks (block INTEGER PRIMARY KEY);
  CREATE TABLE ts_meta (name TEXT PRIMARY KEY, value NOT NULL);
  `,
  `
  -- Device attributes (issue 10): one row per (device, scope, key) with its value as JSON text. A device's version
  -- counts the writes that changed any of its attributes (the twin's optimistic concurrency). Both go with their
  -- device (ON DELETE CASCADE, so also with its tenant).
  CREATE TABLE attributes (
    device_seq INTEGER NOT NULL REFERENCES devices(seq) ON DELETE CASCADE,
    scope TEXT NOT NULL CHECK (scope IN ('client', 'server', 'shared')),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (device_seq, scope, key)
  ) WITHOUT ROWID;
  CREATE TABLE attribute_versions (
    device_seq INTEGER PRIMARY KEY REFERENCES devices(seq) ON DELETE CASCADE,
    version INTEGER NOT NULL
  );
  `,
  `
  -- Persistent RPCs (issue 10): a command stored with its lifecycle until it is answered, times out or expires,
  -- delivered when the device connects. due_at is when the sweeper next looks at an open call (its expiry while
  -- queued, the end of its attempt once sent); NULL once it is final. Calls go with their device.
  CREATE TABLE rpcs (
    id TEXT PRIMARY KEY,
    device_seq INTEGER NOT NULL REFERENCES devices(seq) ON DELETE CASCADE,
    rpc_id INTEGER NOT NULL,
    method TEXT NOT NULL,
    params TEXT NOT NULL,
    oneway INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('QUEUED', 'SENT', 'DELIVERED', 'SUCCESSFUL', 'TIMEOUT', 'EXPIRED', 'FAILED')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    timeout_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    sent_at INTEGER,
    response TEXT,
    error TEXT,
    due_at INTEGER
  );
  CREATE INDEX rpcs_device ON rpcs(device_seq, created_at);
  CREATE INDEX rpcs_due ON rpcs(due_at) WHERE due_at IS NOT NULL;
  `,
  `
  -- Gateways (issue 10): a gateway device connects its children over its own MQTT connection; a child keeps the
  -- id of the gateway that created it. Deleting a gateway leaves its children as devices on their own.
  ALTER TABLE devices ADD COLUMN gateway INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE devices ADD COLUMN gateway_id TEXT REFERENCES devices(id) ON DELETE SET NULL;
  CREATE INDEX devices_gateway ON devices(gateway_id) WHERE gateway_id IS NOT NULL;
  `,
  `
  -- Connectivity (issue 10): each profile's inactivity timeout (ThingsBoard's default of 10 minutes for the
  -- profiles there are), and whether a device had a session open when last written, for the device list's
  -- ?connected= filter; it is cleared at every start, as sessions end with the process.
  ALTER TABLE device_profiles ADD COLUMN inactivity_timeout_sec INTEGER NOT NULL DEFAULT 600;
  ALTER TABLE device_connectivity ADD COLUMN connected INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Alarms (issue 11): per device and type at most one alarm is not cleared (the unique partial index), so a
  -- repeated raise extends it, whichever node raises. tenant_id is the device's, kept here so a tenant's list
  -- by start time is one index range. Alarms go with their device, comments with their alarm.
  CREATE TABLE alarms (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    device_seq INTEGER NOT NULL REFERENCES devices(seq) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    severity TEXT NOT NULL CHECK (severity IN ('CRITICAL', 'MAJOR', 'MINOR', 'WARNING', 'INDETERMINATE')),
    acknowledged INTEGER NOT NULL,
    cleared INTEGER NOT NULL,
    start_ts INTEGER NOT NULL,
    end_ts INTEGER NOT NULL,
    ack_ts INTEGER,
    clear_ts INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    details TEXT NOT NULL,
    rule_id TEXT,
    ack_by TEXT,
    cleared_by TEXT
  );
  CREATE INDEX alarms_tenant ON alarms(tenant_id, start_ts);
  CREATE INDEX alarms_device ON alarms(device_seq, start_ts);
  CREATE UNIQUE INDEX alarms_active ON alarms(device_seq, type) WHERE cleared = 0;
  CREATE TABLE alarm_comments (
    id TEXT PRIMARY KEY,
    alarm_seq INTEGER NOT NULL REFERENCES alarms(seq) ON DELETE CASCADE,
    user_id TEXT,
    text TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX alarm_comments_alarm ON alarm_comments(alarm_seq, created_at);
  `,
  `
  -- Notifications (issue 11): channels per tenant (config as JSON, secrets included: the API never shows them),
  -- the delivery log (next_attempt_at indexed while a delivery is open, NULL once final; the request to send
  -- kept with it so that a restart resumes it) and the in-app inbox. All go with their tenant, inbox items with
  -- their user; a deleted channel leaves its deliveries in the log with channel_id NULL.
  CREATE TABLE notification_channels (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    type TEXT NOT NULL CHECK (type IN ('email', 'webhook', 'inapp')),
    config TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
  );
  CREATE TABLE notification_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    channel_id TEXT REFERENCES notification_channels(id) ON DELETE SET NULL,
    kind TEXT CHECK (kind IN ('email', 'webhook', 'inapp')),
    target TEXT NOT NULL,
    subject TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('PENDING', 'RETRYING', 'SENT', 'FAILED')),
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    last_error TEXT,
    next_attempt_at INTEGER,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    rule_id TEXT,
    request TEXT NOT NULL
  );
  CREATE INDEX notification_deliveries_tenant ON notification_deliveries(tenant_id, created_at);
  CREATE INDEX notification_deliveries_channel ON notification_deliveries(channel_id);
  CREATE INDEX notification_deliveries_due ON notification_deliveries(next_attempt_at) WHERE next_attempt_at IS NOT NULL;
  CREATE TABLE notification_inbox (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER,
    rule_id TEXT
  );
  CREATE INDEX notification_inbox_user ON notification_inbox(user_id, created_at);
  `,
  `
  -- Rules (issue 11): the rule document as JSON, with the columns lists filter on; every save appends the document
  -- to rule_versions (the history). Both go with their tenant.
  CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    disabled_reason TEXT,
    UNIQUE (tenant_id, name)
  );
  CREATE INDEX rules_enabled ON rules(enabled) WHERE enabled = 1;
  CREATE TABLE rule_versions (
    rule_id TEXT NOT NULL REFERENCES rules(id) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    document TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (rule_id, version)
  ) WITHOUT ROWID;
  `,
];
