import type { Core } from '@thingstead/core';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Config } from '../../config/schema';
import type { AuthFailureLog } from '../../logging';
import type { Metrics } from '../../metrics';
import { shutdownRetryAfterSec } from '../../shutdown';
import type { UpgradeRouter } from '../upgrade-router';
import { liveCloseCodes, serveLiveSocket } from './live-socket';

export const liveApiPath = '/api/ws';

export interface LiveApiOptions {
  core: Core;
  config: Readonly<Config['ws']>;
  upgrades: UpgradeRouter;
  metrics: Metrics;
  authFailures: AuthFailureLog;
}

export interface LiveApi {
  /** Upgrades get 503 from now on. */
  stopAccepting(): void;
  /** Closes every socket with 1001 (going away); one still open after graceMs is terminated. */
  close(graceMs: number): Promise<void>;
}

/** The live WebSocket API at /api/ws on the HTTP (and HTTPS) listener: the sessions are core's (core/src/live). */
export function startLiveApi(o: LiveApiOptions): LiveApi {
  const wss = new WebSocketServer({ noServer: true, maxPayload: o.config.maxMessageBytes });
  let accepting = true;
  o.metrics.observeLiveApi(() => wss.clients.size);
  const unroute = o.upgrades.route(liveApiPath, (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const full = wss.clients.size >= o.config.maxConnections;
    if (!accepting || full) {
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${shutdownRetryAfterSec}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      serveLiveSocket(ws, req, {
        core: o.core,
        authTimeoutMs: o.config.authTimeoutMs,
        authFailures: o.authFailures,
        onSent: () => {
          o.metrics.wsMessagesSent.inc();
        },
      });
    });
  });
  return {
    stopAccepting: () => {
      accepting = false;
    },
    close: async (graceMs) => {
      unroute();
      const open = [...wss.clients];
      const gone = Promise.all(
        open.map(
          (ws) =>
            new Promise<void>((resolve) => {
              if (ws.readyState === ws.CLOSED) resolve();
              else
                ws.once('close', () => {
                  resolve();
                });
            }),
        ),
      );
      for (const ws of open) ws.close(liveCloseCodes.shutdown, 'the server is shutting down');
      const timer = setTimeout(() => {
        for (const ws of open) ws.terminate();
      }, graceMs);
      await gone;
      clearTimeout(timer);
      await new Promise<void>((resolve) => {
        wss.close(() => {
          resolve();
        });
      });
    },
  };
}
