import type { EmailConfig } from './model';

/** Sends one email with the channel's SMTP settings (the server's adapter: nodemailer). */
export interface Mailer {
  send(config: EmailConfig, msg: { subject: string; text: string; to: readonly string[] }): Promise<void>;
}

/** POSTs a webhook (the server's adapter: fetch); resolves with the status of any answer, rejects on a network error or timeout. */
export interface HttpPoster {
  post(url: string, body: string, headers: Readonly<Record<string, string>>, timeoutMs: number): Promise<{ status: number }>;
}

/**
 * An adapter's way to say that trying again cannot help (an SMTP 5xx answer, a refused login, a scheme that is
 * not http(s)): the delivery is FAILED at once instead of retried.
 */
export class PermanentDeliveryError extends Error {
  override readonly name = 'PermanentDeliveryError';
}

/** The ports when the composition root gives none: every send fails, saying so. */
export const noMailer: Mailer = {
  send: () => Promise.reject(new PermanentDeliveryError('no mailer is configured in this process')),
};
export const noHttpPoster: HttpPoster = {
  post: () => Promise.reject(new PermanentDeliveryError('no HTTP client is configured in this process')),
};
