import { LiveClientMessage } from '@thingstead/contract';
import { isThingsteadError, type Core, type LiveEndReason, type LiveSession } from '@thingstead/core';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AuthFailureLog } from '../../logging';

/**
 * Close codes of the live API (docs/reference/websocket-api.md). 4000-4999 are for applications (RFC 6455
 * §7.4.2); these mirror the HTTP statuses a REST client would get.
 */
export const liveCloseCodes = {
  unauthenticated: 4401,
  'access-revoked': 4403,
  'auth-timeout': 4408,
  'too-slow': 4429,
  // RFC 6455 §7.4.1: 1001 going away (the server shuts down).
  shutdown: 1001,
} as const satisfies Record<LiveEndReason | 'unauthenticated' | 'auth-timeout', number>;

/** Bytes the socket may hold unsent before the session's outbox keeps what follows (and conflates when full). */
const socketHighWaterBytes = 256 * 1024;

const checkMessage = TypeCompiler.Compile(LiveClientMessage);

export interface LiveSocketOptions {
  core: Core;
  authTimeoutMs: number;
  authFailures: AuthFailureLog;
  onSent: () => void;
}

/** The credential of the upgrade request: Authorization: Bearer <JWT or API key>, or X-API-Key (as REST). */
function headerCredential(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const apiKey = req.headers['x-api-key'];
  if (typeof header === 'string' && /^bearer\s+/i.test(header)) return header.replace(/^bearer\s+/i, '').trim() || undefined;
  if (typeof apiKey === 'string') return apiKey.trim() || undefined;
  return undefined;
}

/**
 * One WebSocket of the live API, a thin transport: it authenticates (the upgrade's header, or a first
 * {"type":"auth"} message within authTimeoutMs), validates each message against the contract, hands requests
 * to core's LiveService and writes what the session queues while the socket has room (socketHighWaterBytes):
 * beyond that the session's bounded outbox takes over. Messages are handled one at a time, in order.
 */
export function serveLiveSocket(ws: WebSocket, req: IncomingMessage, o: LiveSocketOptions): void {
  const live = o.core.live;
  const remoteAddress = req.socket.remoteAddress;
  let session: LiveSession | undefined;
  let blocked = false;
  let pumping = false;
  let chain: Promise<void> = Promise.resolve();

  const close = (code: number, reason: string) => {
    // A close reason is at most 123 bytes (RFC 6455 §5.5.1).
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, Buffer.from(reason).subarray(0, 123).toString());
  };
  const refuse = (why: string) => {
    o.authFailures.record({ transport: 'ws', remoteAddress, reason: why });
    close(liveCloseCodes.unauthenticated, why);
  };
  const written = () => {
    if (blocked) {
      blocked = false;
      pump();
    }
  };
  const pump = () => {
    if (pumping || !session) return;
    pumping = true;
    try {
      while (ws.readyState === ws.OPEN) {
        if (ws.bufferedAmount >= socketHighWaterBytes) {
          blocked = true;
          return;
        }
        const m = session.take();
        if (!m) return;
        ws.send(JSON.stringify(m), written);
        o.onSent();
      }
    } finally {
      pumping = false;
    }
  };
  let expiry: NodeJS.Timeout | undefined;
  const authenticate = async (credential: string) => {
    try {
      const principal = await o.core.auth.authenticate(credential);
      if (ws.readyState !== ws.OPEN) return;
      session = live.open(principal, {
        // open() queues its first message before it returns: pump once session is set.
        wake: () => {
          if (session) pump();
        },
        end: (reason, message) => {
          close(liveCloseCodes[reason], message);
        },
      });
      pump();
      // A session made with an access token ends when the token does (4401): the client connects again with a
      // fresh one, as its REST calls do. API keys do not expire; revoking one ends the session (4403).
      if (principal.expiresAt !== undefined) {
        expiry = setTimeout(
          () => {
            close(liveCloseCodes.unauthenticated, 'the access token expired; connect again with a fresh one');
          },
          // setTimeout holds at most 2^31-1 ms (~24 days); a longer token lifetime is configurable but unusual.
          Math.min(2 ** 31 - 1, Math.max(0, principal.expiresAt - Date.now())),
        );
      }
    } catch (e) {
      refuse(isThingsteadError(e) ? e.code : 'authentication failed');
    }
  };

  const timer = setTimeout(() => {
    if (!session) close(liveCloseCodes['auth-timeout'], `no auth message within ${o.authTimeoutMs} ms`);
  }, o.authTimeoutMs);
  const credential = headerCredential(req);
  if (credential !== undefined) chain = authenticate(credential);

  const handle = async (data: string) => {
    let msg: unknown;
    try {
      msg = JSON.parse(data);
    } catch {
      msg = undefined;
    }
    if (!checkMessage.Check(msg)) {
      const first = checkMessage.Errors(msg).First();
      if (!session) {
        refuse('the first message was not {"type":"auth","token":...}');
        return;
      }
      const id = typeof msg === 'object' && msg !== null && typeof (msg as { id?: unknown }).id === 'string' ? (msg as { id: string }).id : undefined;
      session.send({
        type: 'error',
        ...(id === undefined ? {} : { id }),
        code: 'THINGSTEAD_ERR_VALIDATION',
        message: first ? `${first.path || '/'}: ${first.message}` : 'The message is not valid JSON.',
        hint: 'Send one of the messages of docs/reference/websocket-api.md as a JSON text frame.',
      });
      return;
    }
    if (msg.type === 'auth') {
      if (session) return;
      await authenticate(msg.token);
      return;
    }
    if (!session) {
      refuse('not authenticated: send {"type":"auth","token":...} first');
      return;
    }
    if (msg.type === 'unsubscribe') {
      live.unsubscribe(session, msg.id);
      return;
    }
    const { type: _, ...request } = msg;
    await live.subscribe(session, request);
  };

  ws.on('message', (data, isBinary) => {
    const text = isBinary ? '' : Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8');
    chain = chain
      .then(() => handle(text))
      .catch(() => {
        close(1011, 'internal error');
      });
  });
  ws.on('close', () => {
    clearTimeout(timer);
    clearTimeout(expiry);
    session?.close();
  });
  ws.on('error', () => {
    // The 'close' event follows; a protocol error of one client is that client's (invariant 9).
  });
}
