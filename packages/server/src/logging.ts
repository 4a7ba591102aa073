import type { Clock } from '@thingstead/core';
import { pino, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { Config } from './config/schema';

/** Fields that must never reach a log line, wherever a caller puts them (tokens are credentials). */
const redact = ['password', 'token', 'accessToken', 'refreshToken', 'apiKey', '*.password', '*.token', 'req.headers.authorization'];

/**
 * The process logger: pino JSON lines on stdout (log.format json, or auto when stdout is not a terminal), or
 * pino-pretty's readable lines (pretty, or auto on a terminal). Both are written synchronously, so the last
 * lines before an exit are not lost.
 */
export function createLogger(log: Readonly<Config['log']>, out: NodeJS.WritableStream & { isTTY?: boolean; fd?: number } = process.stdout): Logger {
  const opts: LoggerOptions = { level: log.level, base: { service: 'thingstead' }, redact: { paths: redact, censor: '[redacted]' } };
  const readable = log.format === 'pretty' || (log.format === 'auto' && out.isTTY === true);
  if (!readable) return out === process.stdout ? pino(opts) : pino(opts, out);
  return pino(
    opts,
    pretty({
      destination: out,
      sync: true,
      colorize: out.isTTY === true,
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,service',
      // A request or connection per line, its fields after the message, as a terminal reader expects.
      singleLine: true,
    }),
  );
}

export interface AuthFailure {
  transport: 'mqtt' | 'http' | 'ws';
  remoteAddress: string | undefined;
  /** Why, in words that name no credential. */
  reason: string;
  [field: string]: unknown;
}

/**
 * Authentication failures at warn, with the source address, at most `perWindow` lines per window: a password
 * guesser or a fleet with a revoked token must not flood the log. What was held back is summed up in one line
 * when the window ends (how many, and from which addresses).
 */
export class AuthFailureLog {
  private windowEnds = -Infinity;
  private logged = 0;
  private held = 0;
  private readonly heldFrom = new Map<string, number>();
  private timer: ReturnType<Clock['setTimeout']> | undefined;

  constructor(
    private readonly o: {
      logger: Logger;
      clock: Clock;
      perWindow?: number;
      windowMs?: number;
      /** Every failure, logged or not (the metric). */
      onFailure?: (f: AuthFailure) => void;
    },
  ) {}

  record(f: AuthFailure): void {
    this.o.onFailure?.(f);
    const now = this.o.clock.now();
    const windowMs = this.o.windowMs ?? 60_000;
    if (now >= this.windowEnds) {
      this.flush();
      this.windowEnds = now + windowMs;
      this.logged = 0;
    }
    if (this.logged < (this.o.perWindow ?? 20)) {
      this.logged++;
      this.o.logger.warn(
        f,
        `${{ mqtt: 'MQTT', http: 'HTTP', ws: 'WebSocket' }[f.transport]} authentication failed from ${f.remoteAddress ?? 'an unknown address'}: ${f.reason}`,
      );
      return;
    }
    this.held++;
    const from = f.remoteAddress ?? 'unknown';
    this.heldFrom.set(from, (this.heldFrom.get(from) ?? 0) + 1);
    if (this.timer === undefined) {
      this.timer = this.o.clock.setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.windowEnds - now);
      this.timer.unref?.();
    }
  }

  /** The summary line of what was held back, if anything (also at shutdown). */
  flush(): void {
    if (this.timer !== undefined) {
      this.o.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.held === 0) return;
    const top = [...this.heldFrom].sort((a, b) => b[1] - a[1]).slice(0, 10);
    this.o.logger.warn(
      { suppressed: this.held, addresses: this.heldFrom.size, top: Object.fromEntries(top) },
      `${this.held} more authentication failures from ${this.heldFrom.size} addresses were not logged one by one`,
    );
    this.held = 0;
    this.heldFrom.clear();
  }
}
