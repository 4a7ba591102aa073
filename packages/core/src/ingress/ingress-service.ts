import { apiKeyPrefix, type AuthService } from '../accounts/auth-service';
import type { Principal } from '../accounts/model';
import type { Clock } from '../clock';
import type { ConnectivityService } from '../devices/connectivity';
import type { DeviceService } from '../devices/device-service';
import { isThingsteadError } from '../errors';
import { parseJsonPayload } from '../telemetry/decode';
import type { TelemetryService } from '../telemetry/telemetry-service';

/** A device as a transport knows it once authenticated. */
export interface DeviceIdentity {
  kind: 'device';
  deviceId: string;
  tenantId: string;
  /** The device was a gateway when it authenticated (the gateway API is open to its connection). */
  gateway?: true;
}

/** Who is on the other end of a device-facing connection: a device, or an application acting for a user (API key). */
export type Connected = DeviceIdentity | { kind: 'app'; principal: Principal };

/** What a connection-oriented transport (MQTT, later CoAP) offers as credentials. */
export interface ConnectCredentials {
  clientId: string;
  username?: string | undefined;
  password?: string | undefined;
}

export type ConnectVerdict = { ok: true; who: Connected } | { ok: false; reason: string };

/** Counts of received telemetry per transport (the server's metrics); transports name themselves. */
export interface IngestObserver {
  accepted(transport: string, points: number): void;
  rejected(transport: string, code: string): void;
}

export const noIngestObserver: IngestObserver = { accepted: () => undefined, rejected: () => undefined };

/**
 * The use cases every device-facing transport shares, so a transport only converts: who connects (a device by
 * access token or by chosen MQTT credentials, or an application by API key), and a device's telemetry (activity,
 * ingest after commit, counts).
 */
export class IngressService {
  constructor(
    private readonly auth: AuthService,
    private readonly devices: DeviceService,
    private readonly connectivity: ConnectivityService,
    private readonly telemetry: TelemetryService,
    private readonly clock: Clock,
    private readonly observer: IngestObserver,
  ) {}

  /**
   * Connection credentials in the order ThingsBoard firmware and applications use them: an API key as username
   * or password is an application; else the username as a device access token; else the device's chosen
   * client id / username / password. A refusal says which kind of credential failed, never more.
   */
  async authenticate(c: ConnectCredentials): Promise<ConnectVerdict> {
    const apiKey = [c.username, c.password].find((v) => v?.startsWith(apiKeyPrefix));
    if (apiKey !== undefined) {
      try {
        return { ok: true, who: { kind: 'app', principal: await this.auth.authenticate(apiKey) } };
      } catch (e) {
        if (!isThingsteadError(e)) throw e;
        return { ok: false, reason: 'invalid or revoked API key' };
      }
    }
    if (c.username !== undefined) {
      try {
        return { ok: true, who: identity(await this.devices.authenticateToken(c.username)) };
      } catch (e) {
        if (!isThingsteadError(e)) throw e;
      }
    }
    const d = await this.devices.authenticateBasic(c);
    return d ? { ok: true, who: identity(d) } : { ok: false, reason: 'unknown device credentials' };
  }

  /** A device by its access token (the HTTP device API's path); DEVICE_TOKEN_INVALID otherwise. */
  async deviceByToken(token: string): Promise<DeviceIdentity> {
    return identity(await this.devices.authenticateToken(token));
  }

  /**
   * A device's telemetry message, from a device already authenticated or by access token: records activity and
   * resolves after the values are committed (DESIGN.md invariant 1). `payload` is parsed JSON, or the raw bytes
   * of a message-oriented transport. Accepted and refused messages are counted per transport.
   */
  receive(from: DeviceIdentity | { token: string }, payload: unknown, transport: string): Promise<{ points: number }> {
    const receivedAt = this.clock.now();
    if ('token' in from) {
      return this.deviceByToken(from.token).then(
        (device) => this.ingest(device, payload, transport, receivedAt),
        (e: unknown) => this.rejected(transport, e),
      );
    }
    return this.ingest(from, payload, transport, receivedAt);
  }

  /** The per-message path: promise chains rather than async functions, one fewer microtask hop per message. */
  private ingest(device: DeviceIdentity, payload: unknown, transport: string, receivedAt: number): Promise<{ points: number }> {
    let ingesting: Promise<{ points: number }>;
    try {
      this.connectivity.activity(device.deviceId);
      const parsed = payload instanceof Uint8Array ? parseJsonPayload(payload) : payload;
      ingesting = this.telemetry.ingest({ deviceId: device.deviceId, tenantId: device.tenantId, receivedAt, payload: parsed });
    } catch (e) {
      return this.rejected(transport, e);
    }
    return ingesting.then(
      (r) => {
        this.observer.accepted(transport, r.points);
        return r;
      },
      (e: unknown) => this.rejected(transport, e),
    );
  }

  private rejected(transport: string, e: unknown): Promise<never> {
    this.observer.rejected(transport, isThingsteadError(e) ? e.code : 'THINGSTEAD_ERR_INTERNAL');
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
}

const identity = (d: { id: string; tenantId: string; gateway: boolean }): DeviceIdentity => ({
  kind: 'device',
  deviceId: d.id,
  tenantId: d.tenantId,
  ...(d.gateway ? { gateway: true as const } : {}),
});
