import type { AttributeService } from '../attributes/attribute-service';
import type { EventBus } from '../bus';
import type { Clock } from '../clock';
import type { ConnectivityService } from '../devices/connectivity';
import type { DeviceService } from '../devices/device-service';
import type { Device } from '../devices/model';
import type { ProfileService } from '../devices/profile-service';
import { fail, isThingsteadError, ThingsteadError } from '../errors';
import type { DeviceIdentity, IngressService } from '../ingress/ingress-service';
import type { RpcService } from '../rpc/rpc-service';
import type { Store } from '../store';
import type { TelemetryLimits } from '../telemetry/decode';
import { cleanName } from '../validate';
import { GatewaySession } from './gateway-session';

export interface GatewayLimits {
  /** Children one gateway may have (devices it created); a connect of one more is refused (GATEWAY_LIMIT). */
  maxChildrenPerGateway: number;
  /** New children one gateway may create per minute (a token bucket holding as many, refilled evenly). */
  maxNewChildrenPerMinute: number;
  /** Devices one telemetry or attributes message may name. */
  maxDevicesPerMessage: number;
}

/**
 * The defaults. A ThingsBoard IoT Gateway that starts in front of a few hundred sensors announces them all at
 * once: 100 new children at once, then more at 100 a minute, lets it do so in minutes while a gateway whose
 * names run away (a counter in a name) cannot fill the tenant with devices.
 */
export const defaultGatewayLimits: GatewayLimits = { maxChildrenPerGateway: 1000, maxNewChildrenPerMinute: 100, maxDevicesPerMessage: 500 };

/** A child as a gateway session knows it: the device identity core's other services take, and its name. */
export interface GatewayChild extends DeviceIdentity {
  name: string;
}

export interface GatewayServiceOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  devices: DeviceService;
  profiles: ProfileService;
  connectivity: ConnectivityService;
  ingress: IngressService;
  attributes: AttributeService;
  rpc: RpcService;
  telemetryLimits: TelemetryLimits;
  limits?: Partial<GatewayLimits> | undefined;
}

/**
 * The gateway API (ThingsBoard's v1/gateway/... topics): a gateway device speaks for its children over its own
 * connection. The rules live here, not in the transport: a gateway reaches only the devices it created (a name
 * taken in the tenant by any other device is refused, never claimed), children are created on first sight
 * through DeviceService (name rules, the device.created event) within the limits above, and their data goes
 * through the same services as a device's own. Each connection of a gateway is one GatewaySession; this
 * service also knows which session of this node holds a child, so the transport can route commands and pushes.
 */
export class GatewayService {
  readonly limits: GatewayLimits;
  /** The session of this node holding each connected child (the latest to connect it). */
  private readonly holders = new Map<string, GatewaySession>();
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Creations of one gateway run one at a time, so the limits hold against concurrent connects. */
  private readonly creating = new Map<string, Promise<unknown>>();
  private readonly offs: (() => void)[];

  constructor(readonly o: GatewayServiceOptions) {
    this.limits = { ...defaultGatewayLimits, ...o.limits };
    this.offs = [
      o.bus.subscribe(
        'device.deleted',
        (e) => {
          this.buckets.delete(e.deviceId);
          const holder = this.holders.get(e.deviceId);
          if (holder) holder.forget(e.deviceId);
        },
        { name: 'gateway-children' },
      ),
    ];
  }

  /** A new connection of a gateway device (`gateway.gateway` as authenticated). */
  open(gateway: DeviceIdentity): GatewaySession {
    return new GatewaySession(this, gateway);
  }

  /** The gateway connection of this node that holds the child, and the child's name there. */
  holderOf(childId: string): { gateway: DeviceIdentity; name: string } | undefined {
    const s = this.holders.get(childId);
    const name = s?.nameOf(childId);
    return s && name !== undefined ? { gateway: s.gateway, name } : undefined;
  }

  /** @internal For sessions: keeps the index of holders. */
  held(childId: string, session: GatewaySession | undefined, previous?: GatewaySession): void {
    if (session) this.holders.set(childId, session);
    else if (this.holders.get(childId) === previous) this.holders.delete(childId);
  }

  /**
   * The child of this name: an existing child of this gateway, or a new one created on first sight (with the
   * device profile named by `type`, created when missing). Refused: a name another device of the tenant has
   * (GATEWAY_CHILD_REFUSED), more children than allowed or too many new ones at once (GATEWAY_LIMIT).
   */
  async child(gateway: DeviceIdentity, name: string, o: { type?: string | undefined; create: boolean }): Promise<GatewayChild> {
    const found = await this.existing(gateway, name);
    if (found) return found;
    if (!o.create) return fail('GATEWAY_CHILD_REFUSED', `"${name}" is no child of this gateway; connect it first.`);
    const previous = this.creating.get(gateway.deviceId) ?? Promise.resolve();
    const mine = previous.then(
      () => this.create(gateway, name, o.type),
      () => this.create(gateway, name, o.type),
    );
    this.creating.set(gateway.deviceId, mine);
    try {
      return await mine;
    } finally {
      if (this.creating.get(gateway.deviceId) === mine) this.creating.delete(gateway.deviceId);
    }
  }

  close(): void {
    for (const off of this.offs) off();
  }

  private async existing(gateway: DeviceIdentity, name: string): Promise<GatewayChild | undefined> {
    const d = await this.o.store.devices.findByName(gateway.tenantId, name.trim());
    if (!d) return undefined;
    if (d.gatewayId !== gateway.deviceId)
      fail(
        'GATEWAY_CHILD_REFUSED',
        `A device named "${d.name}" exists in this tenant and is not a child of this gateway; a gateway reaches only the devices it created.`,
      );
    return childOf(d);
  }

  private async create(gateway: DeviceIdentity, name: string, type: string | undefined): Promise<GatewayChild> {
    // Checked again in turn: the connect before this one may have created it.
    const again = await this.existing(gateway, name);
    if (again) return again;
    // A name no device may have is the message's fault, whatever the limits say.
    invalidAsGateway(() => cleanName(name, 'device'));
    if (type !== undefined) invalidAsGateway(() => cleanName(type, 'type'));
    const gw = await this.o.store.devices.get(gateway.deviceId);
    if (!gw?.gateway) return fail('GATEWAY_CHILD_REFUSED', 'This device is not a gateway (any more).');
    const limits = this.limits;
    const children = await this.o.store.devices.list({ tenantId: gw.tenantId, gatewayId: gw.id, limit: 1, offset: 0, sort: 'name', order: 'asc' });
    if (children.total >= limits.maxChildrenPerGateway)
      fail('GATEWAY_LIMIT', `This gateway has ${children.total} children; at most ${limits.maxChildrenPerGateway} are allowed.`, {
        limit: 'maxChildrenPerGateway',
        max: limits.maxChildrenPerGateway,
      });
    this.takeCreation(gw.id);
    try {
      const profile = await this.o.profiles.forGateway(gw.tenantId, type);
      return childOf(await this.o.devices.createChild(gw, { name, profileId: profile.id }));
    } catch (e) {
      // The same name created by another connection of this gateway in the meantime is this child.
      if (isThingsteadError(e) && e.kind === 'DEVICE_NAME_TAKEN') {
        const other = await this.existing(gateway, name);
        if (other) return other;
      }
      throw e;
    }
  }

  private takeCreation(gatewayId: string): void {
    const per = this.limits.maxNewChildrenPerMinute;
    const now = this.o.clock.now();
    const b = this.buckets.get(gatewayId) ?? { tokens: per, at: now };
    const tokens = Math.min(per, b.tokens + ((now - b.at) * per) / 60_000);
    if (tokens < 1) {
      this.buckets.set(gatewayId, { tokens, at: now });
      fail('GATEWAY_LIMIT', `This gateway creates new children too fast; at most ${per} a minute are allowed.`, {
        limit: 'maxNewChildrenPerMinute',
        max: per,
        retryAfterSec: Math.ceil(((1 - tokens) * 60) / per),
      });
    }
    this.buckets.set(gatewayId, { tokens: tokens - 1, at: now });
  }
}

function invalidAsGateway(check: () => unknown): void {
  try {
    check();
  } catch (e) {
    if (isThingsteadError(e) && e.kind === 'VALIDATION') throw new ThingsteadError('GATEWAY_INVALID', e.message, { cause: e });
    throw e;
  }
}

const childOf = (d: Device): GatewayChild => ({ kind: 'device', deviceId: d.id, tenantId: d.tenantId, name: d.name });
