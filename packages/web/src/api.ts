// The REST client of the console: the session (access token, refresh token) in localStorage, refreshed before it
// expires and once on a 401; errors as the server's problem documents (code, message, hint).
import type { Session } from '@thingstead/contract';

const storageKey = 'thingstead.session';

export interface StoredSession {
  token: string;
  refreshToken: string;
  /** ms since the epoch when the access token expires. */
  expiresAt: number;
  user: Session['user'];
}

/** An error answer of the API: its code (THINGSTEAD_ERR_...), message and hint, or a network failure. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly hint?: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

type Listener = (s: StoredSession | null) => void;

export class Api {
  private session: StoredSession | null = load();
  private refreshing: Promise<void> | null = null;
  private readonly listeners = new Set<Listener>();

  get current(): StoredSession | null {
    return this.session;
  }

  onSession(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  async login(email: string, password: string): Promise<void> {
    const s = await this.request<Session>('POST', '/api/auth/login', { email, password }, false);
    this.set(s);
  }

  signOut(): void {
    const s = this.session;
    this.set(null);
    // Best effort: the refresh token stops working on the server too.
    if (s)
      void fetch('/api/auth/logout', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refreshToken: s.refreshToken }),
      }).catch(() => undefined);
  }

  /** A valid access token (refreshed when it expires within a minute), for REST and the live socket. */
  async token(): Promise<string> {
    const s = this.session;
    if (!s) throw new ApiError(401, 'THINGSTEAD_ERR_UNAUTHENTICATED', 'Signed out.');
    if (s.expiresAt - Date.now() < 60_000) await this.refresh();
    const now = this.session;
    if (!now) throw new ApiError(401, 'THINGSTEAD_ERR_UNAUTHENTICATED', 'Your session ended. Sign in again.');
    return now.token;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown, auth = true, retried = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (auth) headers.authorization = `Bearer ${await this.token()}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The server did not answer. Check that Thingstead is running and reachable.');
    }
    if (res.status === 401 && auth && !retried && this.session) {
      await this.refresh();
      return this.request<T>(method, path, body, auth, true);
    }
    const text = await res.text();
    const parsed: unknown = text.length > 0 && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
    if (!res.ok) {
      const p = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { code?: string; message?: string; hint?: string; field?: string };
      throw new ApiError(res.status, p.code ?? `HTTP_${res.status}`, p.message ?? `${method} ${path} failed with ${res.status}.`, p.hint, p.field);
    }
    return parsed as T;
  }

  private async refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      const s = this.session;
      if (!s) return;
      try {
        this.set(await this.request<Session>('POST', '/api/auth/refresh', { refreshToken: s.refreshToken }, false));
      } catch {
        this.set(null);
      }
    })().finally(() => {
      this.refreshing = null;
    });
    await this.refreshing;
  }

  private set(s: Session | StoredSession | null): void {
    this.session =
      s === null
        ? null
        : 'expiresInSec' in s
          ? { token: s.token, refreshToken: s.refreshToken, expiresAt: Date.now() + s.expiresInSec * 1000, user: s.user }
          : s;
    if (this.session) localStorage.setItem(storageKey, JSON.stringify(this.session));
    else localStorage.removeItem(storageKey);
    for (const l of this.listeners) l(this.session);
  }
}

function load(): StoredSession | null {
  try {
    const raw = localStorage.getItem(storageKey);
    if (raw === null) return null;
    const s = JSON.parse(raw) as Partial<StoredSession>;
    return typeof s.token === 'string' && typeof s.refreshToken === 'string' && typeof s.expiresAt === 'number' && s.user ? (s as StoredSession) : null;
  } catch {
    return null;
  }
}

export const api = new Api();
