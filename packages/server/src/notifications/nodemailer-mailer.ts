import { PermanentDeliveryError, type Mailer } from '@thingstead/core';
import { createTransport } from 'nodemailer';

export interface NodemailerOptions {
  /** How long connecting, the greeting and each socket wait may take (ms). */
  timeoutMs?: number;
}

/**
 * The Mailer port over nodemailer's SMTP transport: one connection per message (channels are few and mail is
 * rare next to telemetry, so a pool per channel would hold sockets for nothing). An SMTP 5xx answer or a refused
 * login is permanent: retrying cannot help.
 */
export function nodemailerMailer(o: NodemailerOptions = {}): Mailer {
  const timeoutMs = o.timeoutMs ?? 30_000;
  return {
    send: async (config, msg) => {
      const transport = createTransport({
        host: config.host,
        port: config.port,
        secure: config.secure,
        ...(config.user === undefined ? {} : { auth: { user: config.user, pass: config.password ?? '' } }),
        ...(config.ignoreTls === undefined ? {} : { ignoreTLS: config.ignoreTls }),
        ...(config.requireTls === undefined ? {} : { requireTLS: config.requireTls }),
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
      });
      try {
        await transport.sendMail({ from: config.from, to: [...msg.to], subject: msg.subject, text: msg.text });
      } catch (e) {
        const err = e as { code?: unknown; responseCode?: unknown; message?: unknown };
        const code = typeof err.responseCode === 'number' ? err.responseCode : 0;
        // RFC 5321 §4.2.1: 5yz is a permanent negative completion reply.
        if (err.code === 'EAUTH' || (code >= 500 && code < 600)) throw new PermanentDeliveryError(String(err.message), { cause: e });
        throw e;
      } finally {
        transport.close();
      }
    },
  };
}
