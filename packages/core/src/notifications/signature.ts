import { createHmac, timingSafeEqual } from 'node:crypto';

export const timestampHeader = 'X-Thingstead-Timestamp';
export const signatureHeader = 'X-Thingstead-Signature';

/**
 * A webhook's signature: `sha256=` and the hex HMAC-SHA256, keyed with the secret, of `<timestamp>.<body>`. The
 * timestamp (ms) is signed with the body, so a receiver that refuses old timestamps cannot be fed a replay.
 */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a receiver does (docs/reference/notifications.md shows it standalone): compare in constant time. */
export function verifyWebhook(secret: string, timestamp: string, body: string, signature: string): boolean {
  const want = Buffer.from(signWebhook(secret, Number(timestamp), body));
  const got = Buffer.from(signature);
  return want.length === got.length && timingSafeEqual(want, got);
}
