import type { AttributeValue } from '../attributes/model';
import { fail, isThingsteadError, ThingsteadError } from '../errors';
import type { DeviceIdentity } from '../ingress/ingress-service';
import { decodeTelemetry } from '../telemetry/decode';
import type { GatewayChild, GatewayService } from './gateway-service';
import { parseAttributeRequest, parseConnect, parseDisconnect, parsePerDevice, parseRpcResponse } from './payloads';

/** The answer to an attribute request, as ThingsBoard sends it on v1/gateway/attributes/response. */
export interface GatewayAttributeResponse {
  id: number | string;
  device: string;
  /** The value of the one key asked for ("key"); absent when the device has no such attribute. */
  value?: AttributeValue;
  /** The values found of the keys asked for ("keys"), or all of the scope. */
  values?: Record<string, AttributeValue>;
}

/**
 * One connection of a gateway: the children it connected, each counted as connected (core's connectivity, so
 * RPC finds it online) until the gateway disconnects it or the connection ends. Every message for a child it
 * has not connected yet connects it first (as ThingsBoard does), creating it on first sight; an answer to a
 * command and a disconnect only name children already there. Payloads are the raw MQTT bytes or parsed JSON.
 */
export class GatewaySession {
  private readonly children = new Map<string, GatewayChild>();
  private closed = false;

  constructor(
    private readonly svc: GatewayService,
    readonly gateway: DeviceIdentity,
  ) {}

  /** v1/gateway/connect. */
  async connect(payload: unknown): Promise<GatewayChild> {
    const c = parseConnect(payload);
    return this.attend(c.device, c.type);
  }

  /** v1/gateway/disconnect: a name this connection has not connected is ignored, as in ThingsBoard. */
  async disconnect(payload: unknown): Promise<void> {
    const { device } = parseDisconnect(payload);
    const name = device.trim();
    for (const child of this.children.values()) if (child.name === name) await this.release(child);
  }

  /**
   * v1/gateway/telemetry. Every device's values are checked before anything is created or stored, so a bad part
   * refuses the whole message with nothing written; then each child's values go through core's ingest like a
   * device's own, and the promise resolves when all are committed. A part refused at commit (a key limit)
   * refuses the message too, after the other parts were stored: resending them stores the same points again.
   */
  async telemetry(payload: unknown, transport: string): Promise<{ points: number }> {
    const parts = parsePerDevice(payload, { what: 'telemetry', maxDevices: this.svc.limits.maxDevicesPerMessage });
    const now = this.svc.o.clock.now();
    for (const part of parts) {
      try {
        decodeTelemetry(part.payload, now, this.svc.o.telemetryLimits);
      } catch (e) {
        if (isThingsteadError(e))
          throw new ThingsteadError(e.kind, `${JSON.stringify(part.device)}: ${e.message}`, { cause: e, details: { device: part.device } });
        throw e;
      }
    }
    const children: GatewayChild[] = [];
    for (const part of parts) children.push(await this.attend(part.device));
    const results = await Promise.allSettled(parts.map((part, i) => this.svc.o.ingress.receive(children[i] as GatewayChild, part.payload, transport)));
    let points = 0;
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      points += r.value.points;
    }
    return { points };
  }

  /**
   * v1/gateway/attributes: client attributes per child, each child's one write of its own (as a device's
   * report). A refused part refuses the message; the parts before it stay written, and resending is harmless.
   */
  async attributes(payload: unknown): Promise<void> {
    const parts = parsePerDevice(payload, { what: 'attributes', maxDevices: this.svc.limits.maxDevicesPerMessage });
    const children: GatewayChild[] = [];
    for (const part of parts) children.push(await this.attend(part.device));
    for (const [i, part] of parts.entries()) await this.svc.o.attributes.report(children[i] as GatewayChild, part.payload);
  }

  /** v1/gateway/attributes/request, answered on v1/gateway/attributes/response. */
  async attributeRequest(payload: unknown): Promise<GatewayAttributeResponse> {
    const r = parseAttributeRequest(payload);
    const child = await this.attend(r.device);
    const keys = r.key !== undefined ? [r.key] : r.keys;
    const got = await this.svc.o.attributes.forDevice(
      child,
      r.scope === 'client' ? { clientKeys: keys, sharedKeys: [] } : { clientKeys: [], sharedKeys: keys },
    );
    const values = r.scope === 'client' ? got.client : got.shared;
    if (r.key !== undefined) {
      const value = values[r.key];
      return { id: r.id, device: r.device, ...(value === undefined ? {} : { value }) };
    }
    return { id: r.id, device: r.device, values };
  }

  /** v1/gateway/rpc from the gateway: a child's answer to a command, completing the call like the device's own answer. */
  async rpcResponse(payload: unknown): Promise<void> {
    const r = parseRpcResponse(payload);
    const child = await this.svc.child(this.gateway, r.device, { create: false });
    this.svc.o.connectivity.activity(child.deviceId);
    await this.svc.o.rpc.respond(child, r.id, r.data);
  }

  /** The name of a child this connection holds (connected), for commands and pushes to it. */
  nameOf(childId: string): string | undefined {
    return this.children.get(childId)?.name;
  }

  /** A child was deleted: it is no longer held (its connectivity went with it). */
  forget(childId: string): void {
    if (!this.children.delete(childId)) return;
    this.svc.held(childId, undefined, this);
    // Only the in-memory session count is left to drop: the store has nothing of a deleted device to update.
    this.svc.o.connectivity.disconnected(childId).catch(() => undefined);
  }

  /** The connection ended: every child it held is disconnected. */
  async close(): Promise<void> {
    this.closed = true;
    const errors: unknown[] = [];
    for (const child of [...this.children.values()]) await this.release(child).catch((e: unknown) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  }

  /** The child, connected on this connection from now on, its activity recorded. */
  private async attend(name: string, type?: string): Promise<GatewayChild> {
    const child = await this.svc.child(this.gateway, name, { type, create: true });
    // The connection ended while the child was looked up or created: nothing to hold it.
    if (this.closed) return fail('UNAVAILABLE', 'The gateway connection ended.');
    if (!this.children.has(child.deviceId)) {
      this.children.set(child.deviceId, child);
      this.svc.held(child.deviceId, this);
      await this.svc.o.connectivity.connected(child.deviceId);
      // Persistent commands queued for the child go out through this connection now (not awaited: off the PUBACK's path).
      this.svc.o.rpc.ready(child.deviceId).catch(() => undefined);
    } else {
      this.svc.o.connectivity.activity(child.deviceId);
    }
    return child;
  }

  private async release(child: GatewayChild): Promise<void> {
    if (!this.children.delete(child.deviceId)) return;
    this.svc.held(child.deviceId, undefined, this);
    await this.svc.o.connectivity.disconnected(child.deviceId);
  }
}
