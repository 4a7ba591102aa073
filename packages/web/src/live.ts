// The console's one WebSocket to /api/ws (docs/reference/websocket-api.md): authenticates with the session's
// access token as its first message, re-subscribes everything after a reconnect (with backoff), and hands each
// server message to the subscription it names.
import { api } from './api';

export type LiveMessage = { type: string; id?: string; [k: string]: unknown };
type Handler = (m: LiveMessage) => void;

interface Sub {
  request: Record<string, unknown>;
  handler: Handler;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private ready = false;
  private readonly subs = new Map<string, Sub>();
  private nextId = 1;
  private retryMs = 500;
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** Subscribes (`kind`, `target`, ...) and returns the unsubscribe function. */
  subscribe(request: Record<string, unknown>, handler: Handler): () => void {
    const id = `s${this.nextId++}`;
    this.subs.set(id, { request: { type: 'subscribe', id, ...request }, handler });
    if (this.ready) this.send({ type: 'subscribe', id, ...request });
    else this.connect();
    return () => {
      this.subs.delete(id);
      if (this.ready) this.send({ type: 'unsubscribe', id });
    };
  }

  /** Closes the socket and forgets every subscription (sign-out); a later subscribe connects again. */
  reset(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.subs.clear();
    this.ready = false;
    const ws = this.ws;
    this.ws = null;
    ws?.close();
  }

  private send(m: Record<string, unknown>): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  private connect(): void {
    if (this.ws || this.timer) return;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/ws`;
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onopen = () => {
      api.token().then(
        (token) => {
          ws.send(JSON.stringify({ type: 'auth', token }));
        },
        () => {
          ws.close();
        },
      );
    };
    ws.onmessage = (ev: MessageEvent<string>) => {
      if (this.ws !== ws) return;
      const m = JSON.parse(ev.data) as LiveMessage;
      if (m.type === 'authenticated') {
        this.ready = true;
        this.retryMs = 500;
        for (const s of this.subs.values()) this.send(s.request);
        return;
      }
      if (typeof m.id === 'string') this.subs.get(m.id)?.handler(m);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return; // reset() replaced it
      this.ws = null;
      this.ready = false;
      if (this.subs.size === 0) return;
      // 4401: the access token expired or was refused; api.token() refreshes it on the next attempt.
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 10_000);
    };
  }
}

export const live = new LiveSocket();
