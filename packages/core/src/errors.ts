/**
 * The error catalogue of core: every error a client can see has a stable code (`THINGSTEAD_ERR_<kind>`), a
 * message and a hint that tells the user what to do. Each transport maps a kind to its wire form in one table
 * (HTTP status: server/src/transports/http/errors.ts; MQTT reason code: server/src/transports/mqtt/reason-codes.ts).
 * A generic kind (CONFLICT, IN_USE) stays for what has no specific entry; a specific one exists where the hint
 * would otherwise tell the user the wrong thing to do.
 */
export const errorCatalogue = {
  VALIDATION: { message: 'The request is invalid.', hint: 'Check the fields named in details against the API reference at /api/docs.' },
  BAD_REQUEST: { message: 'The HTTP request is malformed.', hint: 'Send a well-formed HTTP/1.1 request; the connection was closed.' },
  BAD_URL: { message: 'The URL is malformed.', hint: 'Percent-encode reserved and non-ASCII characters in the path (RFC 3986 §2.1).' },
  BAD_JSON: { message: 'The body is not valid JSON.', hint: 'Send a JSON document with Content-Type: application/json.' },
  TELEMETRY_INVALID: {
    message: 'The telemetry payload is invalid.',
    hint: 'Send {"key":value}, {"ts":<ms>,"values":{...}} or an array of either; see docs/reference/device-api.md.',
  },
  ATTRIBUTES_INVALID: {
    message: 'The attributes are invalid.',
    hint: 'Send a JSON object of key -> value (number, string, boolean or JSON object); keys follow the telemetry key rules. See docs/reference/rest-api.md#attributes.',
  },
  ATTRIBUTE_LIMIT: {
    message: "The device's attributes would pass a limit.",
    hint: 'Nothing was changed. Delete attributes the device no longer needs, or keep values smaller; the limits are in docs/reference/rest-api.md#attributes.',
  },
  ATTRIBUTE_SCOPE_READ_ONLY: {
    message: 'Client attributes are reported by the device and cannot be changed by users.',
    hint: 'Set server attributes, or shared attributes (the desired state the device receives) instead.',
  },
  TWIN_VERSION_CONFLICT: {
    message: 'The twin changed since the version given.',
    hint: 'Read GET /api/devices/{id}/twin again, apply your change to what it shows, and send its version.',
  },
  RPC_INVALID: {
    message: 'The RPC request is invalid.',
    hint: 'Send {"method":"<name>","params":<JSON>} with a method of 1 to 128 printable characters and params of at most 64 KiB; see docs/reference/rpc.md.',
  },
  RULE_INVALID: {
    message: 'The rule is invalid.',
    hint: 'Fix the fields listed in details.problems (JSON Pointers into the rule); docs/reference/rules.md describes every trigger, condition and action.',
  },
  RULE_NAME_TAKEN: { message: 'A rule of this tenant already has this name.', hint: 'Choose another name, or update the existing rule.' },
  RPC_METHOD_UNKNOWN: {
    message: 'No handler for this RPC method.',
    hint: 'Devices can call the platform methods listed in docs/reference/rpc.md (getCurrentTime, getSharedAttributes).',
  },
  DEVICE_OFFLINE: {
    message: 'The device is not connected.',
    hint: 'Send it when the device is online (GET /api/devices/{id}/connectivity), or send it with "persistent": true to have it queued.',
  },
  RPC_TIMEOUT: {
    message: 'The device did not answer the RPC in time.',
    hint: 'Check that the device handles this method and answers on v1/devices/me/rpc/response/{id}; raise timeoutMs if it needs longer.',
  },
  GATEWAY_INVALID: {
    message: 'The gateway message is invalid.',
    hint: 'Send the ThingsBoard gateway API forms, e.g. {"device":"Device A","type":"thermostat"} on v1/gateway/connect; see docs/reference/mqtt.md#gateway-api.',
  },
  GATEWAY_CHILD_REFUSED: {
    message: 'The device is not a child of this gateway.',
    hint: 'A gateway reaches only the devices it created (their gatewayId names it). Use another device name, or rename the other device of that name.',
  },
  GATEWAY_LIMIT: {
    message: 'The gateway reached a limit of its children.',
    hint: 'Nothing of this message was stored. Retry later when new children come too fast, or delete children that are no longer used; the limits are in docs/reference/mqtt.md#gateway-api.',
  },
  NOTIFICATION_CHANNEL_INVALID: {
    message: 'The notification channel is invalid.',
    hint: 'Fix the fields named in details.problems; each channel type and its config are in docs/reference/notifications.md.',
  },
  NOTIFICATION_CHANNEL_NAME_TAKEN: {
    message: 'A notification channel with that name already exists in this tenant.',
    hint: 'Channel names are unique per tenant; choose another name, or update the existing channel.',
  },
  UNAUTHENTICATED: { message: 'Authentication is required.', hint: 'Send Authorization: Bearer <token> from POST /api/auth/login, or an API key.' },
  INVALID_CREDENTIALS: {
    message: 'Email or password is wrong.',
    hint: 'Check the credentials; repeated failures from one address lock that address out for a while.',
  },
  TOKEN_INVALID: { message: 'The token is invalid or expired.', hint: 'Log in again or use POST /api/auth/refresh with your refresh token.' },
  DEVICE_TOKEN_INVALID: {
    message: 'Unknown device access token.',
    hint: 'Use the token from GET /api/devices/{id}/credentials; it changes when credentials are rotated.',
  },
  ACCOUNT_DISABLED: { message: 'This account is disabled.', hint: 'Ask a tenant administrator to enable it again.' },
  FORBIDDEN: { message: 'Your role does not allow this.', hint: 'Ask a tenant administrator for the needed role.' },
  NOT_FOUND: { message: 'Not found.', hint: 'Check the id; you can only see resources of your own tenant.' },
  ROUTE_NOT_FOUND: { message: 'No such route.', hint: 'See the API reference at /api/docs.' },
  CONFLICT: { message: 'A resource with that name already exists.', hint: 'Choose another name, or update the existing resource.' },
  TENANT_NAME_TAKEN: {
    message: 'A tenant with that name already exists.',
    hint: 'Tenant names are unique; choose another name, or update the existing tenant.',
  },
  EMAIL_TAKEN: {
    message: 'A user with that email already exists.',
    hint: 'An email belongs to one user across all tenants; use another email, or update the existing user.',
  },
  PROFILE_NAME_TAKEN: {
    message: 'A device profile with that name already exists in this tenant.',
    hint: 'Profile names are unique per tenant; choose another name, or update the existing profile.',
  },
  DEVICE_NAME_TAKEN: {
    message: 'A device with that name already exists in this tenant.',
    hint: 'Device names are unique per tenant; choose another name, or update the existing device.',
  },
  /** Raised by storage; the credentials endpoint answers it as VALIDATION, like a malformed token (ADR 0004). */
  ACCESS_TOKEN_TAKEN: {
    message: 'The access token is not unique.',
    hint: 'Send no accessToken to get a random one; a chosen token must be unique across all tenants.',
  },
  /** Raised by storage; the credentials endpoint answers it as VALIDATION, like a malformed username (ADR 0004). */
  MQTT_USERNAME_TAKEN: { message: 'The MQTT username is not unique.', hint: 'Choose another username; MQTT usernames are unique across all tenants.' },
  LIMIT_REACHED: { message: 'A limit was reached.', hint: 'Remove unused items first.' },
  TELEMETRY_KEY_LIMIT: {
    message: 'The device or tenant has reached its limit of distinct telemetry keys.',
    hint: 'Nothing of the message was stored. Reuse existing keys (put ids and names into values, not keys), or ask the operator to raise telemetry.maxKeysPerDevice or telemetry.maxKeysPerTenant.',
  },
  IN_USE: { message: 'The resource is still in use.', hint: 'Remove or move what refers to it first.' },
  DEFAULT_PROFILE: {
    message: 'The default device profile cannot be deleted.',
    hint: 'Every tenant keeps its default profile; delete other profiles, or delete the tenant.',
  },
  LAST_ADMIN: { message: 'This is the last enabled system administrator.', hint: 'Create or enable another system administrator first.' },
  TENANT_HAS_ADMIN: {
    message: 'This tenant is the home of a system administrator and cannot be deleted.',
    hint: 'Delete the system administrators of this tenant first (as another administrator); your own home tenant cannot be deleted.',
  },
  POLL_TIMEOUT: {
    message: 'Nothing arrived for the device within the timeout.',
    hint: 'Poll again; a long-poll is answered as soon as something arrives, or with 408 after ?timeout= ms.',
  },
  REQUEST_TIMEOUT: { message: 'The request did not arrive in time.', hint: 'Send the headers and body promptly; the connection was closed.' },
  PAYLOAD_TOO_LARGE: { message: 'The body is too large.', hint: 'Split the data into smaller messages.' },
  URL_TOO_LONG: { message: 'A path segment of the URL is too long.', hint: 'Ids and tokens in the path are at most 128 characters; check the URL.' },
  UNSUPPORTED_MEDIA_TYPE: { message: 'Unsupported Content-Type.', hint: 'Send the body as application/json.' },
  HEADERS_TOO_LARGE: {
    message: 'The request line and headers are too large.',
    hint: 'Keep the URL and headers under 16 KiB together; send long data in the body.',
  },
  TOO_MANY_ATTEMPTS: { message: 'Too many failed login attempts.', hint: 'Wait until the time in Retry-After has passed, then try again.' },
  UNAVAILABLE: { message: 'The service is shutting down or overloaded.', hint: 'Nothing of this request was stored: retry after the seconds in Retry-After.' },
  INTERNAL: { message: 'Internal error.', hint: 'This is a bug or an outage; the server log has the details.' },
} as const satisfies Record<string, { message: string; hint: string }>;

export type ErrorName = keyof typeof errorCatalogue;

export class ThingsteadError extends Error {
  readonly code: `THINGSTEAD_ERR_${ErrorName}`;
  override readonly name = 'ThingsteadError';
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;
  readonly kind: ErrorName;

  constructor(kind: ErrorName, message?: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    const entry = errorCatalogue[kind];
    super(message ?? entry.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = `THINGSTEAD_ERR_${kind}`;
    this.hint = entry.hint;
    this.details = options?.details;
  }
}

export function fail(kind: ErrorName, message?: string, details?: Record<string, unknown>): never {
  throw new ThingsteadError(kind, message, details === undefined ? undefined : { details });
}

export function isThingsteadError(e: unknown): e is ThingsteadError {
  return e instanceof ThingsteadError;
}
