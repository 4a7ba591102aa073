/**
 * The error catalogue of core: every error a client can see has a stable code, an HTTP status (transports
 * translate it to their own wire form), a message and a hint that tells the user what to do.
 */
export const errorCatalogue = {
  VALIDATION: { status: 400, message: 'The request is invalid.', hint: 'Check the fields named in details against the API reference at /api/docs.' },
  BAD_REQUEST: { status: 400, message: 'The HTTP request is malformed.', hint: 'Send a well-formed HTTP/1.1 request; the connection was closed.' },
  BAD_URL: { status: 400, message: 'The URL is malformed.', hint: 'Percent-encode reserved and non-ASCII characters in the path (RFC 3986 §2.1).' },
  BAD_JSON: { status: 400, message: 'The body is not valid JSON.', hint: 'Send a JSON document with Content-Type: application/json.' },
  TELEMETRY_INVALID: { status: 400, message: 'The telemetry payload is invalid.', hint: 'Send {"key":value}, {"ts":<ms>,"values":{...}} or an array of either; see docs/reference/device-api.md.' },
  UNAUTHENTICATED: { status: 401, message: 'Authentication is required.', hint: 'Send Authorization: Bearer <token> from POST /api/auth/login, or an API key.' },
  INVALID_CREDENTIALS: { status: 401, message: 'Email or password is wrong.', hint: 'Check the credentials; repeated failures from one address lock that address out for a while.' },
  TOKEN_INVALID: { status: 401, message: 'The token is invalid or expired.', hint: 'Log in again or use POST /api/auth/refresh with your refresh token.' },
  DEVICE_TOKEN_INVALID: { status: 401, message: 'Unknown device access token.', hint: 'Use the token from GET /api/devices/{id}/credentials; it changes when credentials are rotated.' },
  ACCOUNT_DISABLED: { status: 403, message: 'This account is disabled.', hint: 'Ask a tenant administrator to enable it again.' },
  FORBIDDEN: { status: 403, message: 'Your role does not allow this.', hint: 'Ask a tenant administrator for the needed role.' },
  NOT_FOUND: { status: 404, message: 'Not found.', hint: 'Check the id; you can only see resources of your own tenant.' },
  ROUTE_NOT_FOUND: { status: 404, message: 'No such route.', hint: 'See the API reference at /api/docs.' },
  CONFLICT: { status: 409, message: 'A resource with that name already exists.', hint: 'Choose another name, or update the existing resource.' },
  LIMIT_REACHED: { status: 409, message: 'A limit was reached.', hint: 'Remove unused items first.' },
  TELEMETRY_KEY_LIMIT: {
    status: 409,
    message: 'The device or tenant has reached its limit of distinct telemetry keys.',
    hint: 'Nothing of the message was stored. Reuse existing keys (put ids and names into values, not keys), or ask the operator to raise telemetry.maxKeysPerDevice or telemetry.maxKeysPerTenant.',
  },
  IN_USE: { status: 409, message: 'The resource is still in use.', hint: 'Remove or move what refers to it first.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request did not arrive in time.', hint: 'Send the headers and body promptly; the connection was closed.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The body is too large.', hint: 'Split the data into smaller messages.' },
  URL_TOO_LONG: { status: 414, message: 'A path segment of the URL is too long.', hint: 'Ids and tokens in the path are at most 128 characters; check the URL.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Content-Type.', hint: 'Send the body as application/json.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request line and headers are too large.', hint: 'Keep the URL and headers under 16 KiB together; send long data in the body.' },
  TOO_MANY_ATTEMPTS: { status: 429, message: 'Too many failed login attempts.', hint: 'Wait until the time in Retry-After has passed, then try again.' },
  UNAVAILABLE: { status: 503, message: 'The service is shutting down or overloaded.', hint: 'Nothing of this request was stored: retry after the seconds in Retry-After.' },
  INTERNAL: { status: 500, message: 'Internal error.', hint: 'This is a bug or an outage; the server log has the details.' },
} as const satisfies Record<string, { status: number; message: string; hint: string }>;

export type ErrorName = keyof typeof errorCatalogue;

export class ThingsteadError extends Error {
  readonly code: `THINGSTEAD_ERR_${ErrorName}`;
  override readonly name = 'ThingsteadError';
  readonly status: number;
  readonly hint: string;
  readonly details: Record<string, unknown> | undefined;
  readonly kind: ErrorName;

  constructor(kind: ErrorName, message?: string, options?: { details?: Record<string, unknown>; cause?: unknown }) {
    const entry = errorCatalogue[kind];
    super(message ?? entry.message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.code = `THINGSTEAD_ERR_${kind}`;
    this.status = entry.status;
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
