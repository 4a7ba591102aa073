// The admin REST API and /metrics, as the benchmark uses them: log in, create devices, read their access
// tokens, read the committed-values counter, and count what a device has stored.
import { ADMIN_EMAIL, ADMIN_PASSWORD } from './server-process';

export interface BenchDevice {
  id: string;
  token: string;
}

export class Api {
  private jwt = '';

  constructor(readonly base: string) {}

  /** The access token of the last login, for load processes that call the API themselves. */
  get token(): string {
    return this.jwt;
  }

  async login(): Promise<void> {
    const r = await this.call('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
    this.jwt = (r as { token: string }).token;
  }

  /** Creates device profiles named `${prefix}-0`..., returns their ids. */
  async createProfiles(n: number, prefix = 'bench'): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(((await this.call('POST', '/api/device-profiles', { name: `${prefix}-${i}` })) as { id: string }).id);
    return ids;
  }

  /**
   * Creates `n` devices (named bench-0...) and reads their access tokens, a few requests at a time; with
   * `profileIds`, device i gets profile i % profileIds.length.
   */
  async createDevices(n: number, concurrency = 8, profileIds: readonly string[] = []): Promise<BenchDevice[]> {
    const out: BenchDevice[] = new Array<BenchDevice>(n);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < n; i = next++) {
        const profileId = profileIds.length > 0 ? profileIds[i % profileIds.length] : undefined;
        const d = (await this.call('POST', '/api/devices', { name: `bench-${i}`, ...(profileId === undefined ? {} : { profileId }) })) as { id: string };
        const c = (await this.call('GET', `/api/devices/${d.id}/credentials`)) as { accessToken?: string };
        if (c.accessToken === undefined) throw new Error(`device ${d.id} has no access token`);
        out[i] = { id: d.id, token: c.accessToken };
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
    return out;
  }

  /** Creates rules (POST /api/rules), a few at a time. */
  async createRules(docs: readonly Record<string, unknown>[], concurrency = 4): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < docs.length; i = next++) await this.call('POST', '/api/rules', docs[i]);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, docs.length) }, worker));
  }

  /** Sum of a counter over its label sets, from /metrics (e.g. thingstead_telemetry_points_total). */
  async counter(name: string): Promise<number> {
    const res = await fetch(`${this.base}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let sum = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith(name)) continue;
      const rest = line.slice(name.length);
      if (rest[0] !== ' ' && rest[0] !== '{') continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return sum;
  }

  /** How many values of `key` the device stored with from <= ts < to (at most 100,000). */
  async storedCount(deviceId: string, key: string, from: number, to: number): Promise<number> {
    const r = (await this.call('GET', `/api/devices/${deviceId}/telemetry?keys=${key}&from=${from}&to=${to}&limit=100000&order=asc`)) as {
      data: Record<string, unknown[]>;
    };
    return r.data[key]?.length ?? 0;
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = {};
    if (this.jwt !== '') headers.authorization = `Bearer ${this.jwt}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(this.base + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text === '' ? undefined : JSON.parse(text);
  }
}

/** The telemetry payload: {"ts":<13 digits>,"values":{"temperature":..,"humidity":..,"v2":..}} with `values` entries. */
export function payloadParts(values: number): { head: string; tail: string } {
  const names = ['temperature', 'humidity', ...Array.from({ length: Math.max(0, values - 2) }, (_, i) => `v${i + 2}`)].slice(0, values);
  const body = names.map((k, i) => `"${k}":${(21.5 + i * 3.25).toFixed(2)}`).join(',');
  return { head: '{"ts":', tail: `,"values":{${body}}}` };
}
