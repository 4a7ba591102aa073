import { requireReadable, requireWritable } from '../access';
import type { Principal } from '../accounts/model';
import type { AttributeDevice } from '../attributes/attribute-service';
import type { EventBus } from '../bus';
import type { Clock, TimerHandle } from '../clock';
import { fail } from '../errors';
import { jsonProblem } from '../json';
import type { Store } from '../store';
import { parseJsonPayload } from '../telemetry/decode';
import {
  defaultRpcLimits,
  type DeviceRpcHandler,
  type RpcCallInput,
  type RpcCallResult,
  type RpcLimits,
  type RpcRequestEvent,
  type RpcResponseEvent,
  type RpcStatus,
  type StoredRpc,
} from './model';
import { PersistentRpcs } from './persistent-rpcs';

export interface RpcServiceOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  /** Whether a transport of this node holds a live connection of the device (MQTT). */
  online: (deviceId: string) => boolean;
  limits?: Partial<RpcLimits>;
  /** A device answered an id nobody waits for (unknown, timed out, or answered already). */
  onUnmatchedResponse?: () => void;
  /** How often persistent calls are checked for ended attempts and expiry (default 1 s). */
  sweepIntervalMs?: number;
}

interface Waiting {
  resolve: (response: unknown) => void;
  timer: TimerHandle;
}

type Poller = (r: RpcRequestEvent) => void;

const methodPattern = /^[\x21-\x7e][\x20-\x7e]*$/;

/**
 * Commands to devices and their answers (server-to-device RPC), and the platform methods devices may call
 * (device-to-server RPC). A call is published on the bus as `rpc.request`; the transports that hold the device
 * deliver it, and the device's answer comes back as `rpc.response` to the node where the caller waits, so a
 * clustered bus can route both. HTTP devices collect requests by long-polling (poll()).
 */
export class RpcService {
  private readonly limits: RpcLimits;
  private readonly waiting = new Map<string, Waiting>();
  private readonly waitingPerDevice = new Map<string, number>();
  private readonly pollers = new Map<string, Poller[]>();
  private readonly handlers = new Map<string, DeviceRpcHandler>();
  /** Random start: ids of calls from several nodes to one device rarely meet, and a restart does not reuse recent ones. */
  private nextId = 1 + Math.floor(Math.random() * 2 ** 30);
  private readonly offs: (() => void)[];
  private readonly persistent: PersistentRpcs;

  constructor(private readonly o: RpcServiceOptions) {
    this.limits = { ...defaultRpcLimits, ...o.limits };
    this.persistent = new PersistentRpcs({
      store: o.store,
      clock: o.clock,
      bus: o.bus,
      limits: this.limits,
      capacity: (deviceId) => this.capacity(deviceId),
      takeId: () => this.takeId(),
      ...(o.sweepIntervalMs === undefined ? {} : { sweepIntervalMs: o.sweepIntervalMs }),
    });
    this.offs = [
      o.bus.subscribe(
        'rpc.response',
        (e) => {
          this.settle(e);
        },
        { name: 'rpc-calls' },
      ),
      o.bus.subscribe(
        'rpc.request',
        (e) => {
          this.handToPoller(e);
        },
        { name: 'rpc-http-poll' },
      ),
    ];
  }

  /**
   * A user's command to a device: resolves with the answer (two-way) or once it was handed to the transports
   * (one-way). A persistent call is stored and resolves at once with its id and status; it is delivered when the
   * device is reachable, whether it is now or later.
   */
  async call(p: Principal, deviceId: string, input: RpcCallInput): Promise<RpcCallResult> {
    const device = requireWritable(p, await this.o.store.devices.get(deviceId), 'Device');
    const method = this.method(input.method);
    const params = this.params(input.params ?? {});
    const timeoutMs = input.timeoutMs ?? this.limits.defaultTimeoutMs;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > this.limits.maxTimeoutMs)
      fail('RPC_INVALID', `timeoutMs must be an integer from 1 to ${this.limits.maxTimeoutMs}.`);
    const oneway = input.oneway === true;
    if (input.persistent === true) {
      const r = await this.persistent.submit(device, { method, params, oneway, timeoutMs, expiresInMs: input.expiresInMs });
      return { rpcId: r.rpcId, oneway, persistent: true, id: r.id, status: r.status };
    }
    if (this.capacity(deviceId) === 0) fail('DEVICE_OFFLINE', `Device ${device.name} is not connected.`);
    const rpcId = this.takeId();
    const request: RpcRequestEvent = { tenantId: device.tenantId, deviceId, rpcId, method, params, oneway, expiresAt: this.o.clock.now() + timeoutMs };
    if (oneway) {
      await this.o.bus.publish('rpc.request', request);
      return { rpcId, oneway: true };
    }
    // Waiting before publishing, so an answer faster than the publish's own promise is not missed.
    const answer = this.await(deviceId, rpcId, timeoutMs);
    await this.o.bus.publish('rpc.request', request);
    const response = await answer;
    return { rpcId, oneway: false, response };
  }

  /**
   * A device's answer from a transport: `rpcId` as it came (a topic level or a path segment), the payload as
   * JSON text or bytes (kept as text when it is not JSON). An id that is no number is ignored and counted.
   */
  async respond(device: AttributeDevice, rpcId: string, payload: unknown): Promise<void> {
    const id = /^[1-9]\d{0,15}$/.test(rpcId) ? Number(rpcId) : Number.NaN;
    if (!Number.isSafeInteger(id)) {
      this.o.onUnmatchedResponse?.();
      return;
    }
    const response = this.answerOf(payload);
    const bytes = payload instanceof Uint8Array ? payload.byteLength : Buffer.byteLength(JSON.stringify(response));
    // A call waiting on this node is not persistent: no store lookup on that path.
    if (!this.waiting.has(`${device.deviceId}:${id}`) && (await this.persistent.answered(device.deviceId, id, response, bytes))) return;
    await this.o.bus.publish('rpc.response', { tenantId: device.tenantId, deviceId: device.deviceId, rpcId: id, response });
  }

  /** A device can take commands now (it connected, subscribed to its requests, or polls): its queued persistent calls go out. */
  ready(deviceId: string): Promise<void> {
    return this.persistent.deliver(deviceId);
  }

  /** A transport handed a persistent call (`persistent` on the request event) to a live connection of the device. */
  delivered(deviceId: string, rpcId: number): Promise<void> {
    return this.persistent.delivered(deviceId, rpcId);
  }

  /** A device's persistent calls, newest first (GET /api/devices/{id}/rpc). */
  async list(
    p: Principal,
    deviceId: string,
    q: { status?: RpcStatus | undefined; limit: number; offset: number },
  ): Promise<{ items: StoredRpc[]; total: number }> {
    requireReadable(p, await this.o.store.devices.get(deviceId), 'Device');
    return this.o.store.rpcs.list({ deviceId, ...q });
  }

  /** One persistent call (GET /api/rpc/{id}). */
  async get(p: Principal, id: string): Promise<StoredRpc> {
    const r = await this.o.store.rpcs.get(id);
    requireReadable(p, r, 'RPC');
    return r as StoredRpc;
  }

  /** Deletes a persistent call; an open one is not sent again (DELETE /api/rpc/{id}). */
  async cancel(p: Principal, id: string): Promise<void> {
    const r = requireWritable(p, await this.o.store.rpcs.get(id), 'RPC');
    await this.persistent.cancel(r);
  }

  /** HTTP long-poll: the next command for the device within timeoutMs (a queued persistent one first), or undefined. */
  poll(device: AttributeDevice, timeoutMs: number): Promise<RpcRequestEvent | undefined> {
    return new Promise((resolve) => {
      const list = this.pollers.get(device.deviceId) ?? [];
      const poller: Poller = (r) => {
        this.o.clock.clearTimeout(timer);
        resolve(r);
      };
      const timer = this.o.clock.setTimeout(() => {
        this.dropPoller(device.deviceId, poller);
        resolve(undefined);
      }, timeoutMs);
      list.push(poller);
      this.pollers.set(device.deviceId, list);
      // A queued persistent call is the poller's answer at once.
      this.persistent.deliver(device.deviceId).catch(() => undefined);
    });
  }

  /** Adds a platform method devices may call (a later registration of the same name replaces it). */
  register(method: string, handler: DeviceRpcHandler): void {
    this.handlers.set(method, handler);
  }

  /** Device-to-server RPC: {"method","params"} (parsed, or bytes from MQTT); resolves with the method's answer. */
  async serve(device: AttributeDevice, payload: unknown): Promise<unknown> {
    const body = payload instanceof Uint8Array || typeof payload === 'string' ? parseJsonPayload(payload, 'RPC_INVALID') : payload;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return fail('RPC_INVALID', 'Send a JSON object {"method":"<name>","params":...}.');
    const { method, params } = body as { method?: unknown; params?: unknown };
    const name = this.method(method);
    const handler = this.handlers.get(name);
    if (handler === undefined) return fail('RPC_METHOD_UNKNOWN', `No platform method ${JSON.stringify(name)}.`);
    return await handler(device, this.params(params ?? {}));
  }

  /** Stops the sweeper (after the pass running, if any) and the waiting calls' timers. */
  async close(): Promise<void> {
    for (const off of this.offs) off();
    for (const w of this.waiting.values()) this.o.clock.clearTimeout(w.timer);
    this.waiting.clear();
    await this.persistent.close();
  }

  /** How many commands the device can take now: any number over MQTT, one per waiting HTTP long-poll. */
  private capacity(deviceId: string): number {
    return this.o.online(deviceId) ? Number.POSITIVE_INFINITY : (this.pollers.get(deviceId)?.length ?? 0);
  }

  private await(deviceId: string, rpcId: number, timeoutMs: number): Promise<unknown> {
    const n = this.waitingPerDevice.get(deviceId) ?? 0;
    if (n >= this.limits.maxPendingPerDevice)
      fail('UNAVAILABLE', `${n} RPCs to this device wait for answers already; send more once some are answered.`, { retryAfterSec: 1 });
    this.waitingPerDevice.set(deviceId, n + 1);
    const key = `${deviceId}:${rpcId}`;
    const done = () => {
      this.waiting.delete(key);
      const left = (this.waitingPerDevice.get(deviceId) ?? 1) - 1;
      if (left > 0) this.waitingPerDevice.set(deviceId, left);
      else this.waitingPerDevice.delete(deviceId);
    };
    const outcome = new Promise<{ answered: boolean; response?: unknown }>((resolve) => {
      const timer = this.o.clock.setTimeout(() => {
        done();
        resolve({ answered: false });
      }, timeoutMs);
      this.waiting.set(key, {
        timer,
        resolve: (response) => {
          this.o.clock.clearTimeout(timer);
          done();
          resolve({ answered: true, response });
        },
      });
    });
    return outcome.then((r) => (r.answered ? r.response : fail('RPC_TIMEOUT', `No answer to RPC ${rpcId} within ${timeoutMs} ms.`, { rpcId })));
  }

  private settle(e: RpcResponseEvent): void {
    const w = this.waiting.get(`${e.deviceId}:${e.rpcId}`);
    if (w) w.resolve(e.response);
    else this.o.onUnmatchedResponse?.();
  }

  private handToPoller(e: RpcRequestEvent): void {
    const list = this.pollers.get(e.deviceId);
    const first = list?.shift();
    if (list?.length === 0) this.pollers.delete(e.deviceId);
    if (!first || this.o.clock.now() >= e.expiresAt) return;
    first(e);
    if (e.persistent) void this.persistent.delivered(e.deviceId, e.rpcId).catch(() => undefined);
  }

  private dropPoller(deviceId: string, poller: Poller): void {
    const list = (this.pollers.get(deviceId) ?? []).filter((x) => x !== poller);
    if (list.length > 0) this.pollers.set(deviceId, list);
    else this.pollers.delete(deviceId);
  }

  private takeId(): number {
    const id = this.nextId;
    this.nextId = id >= 2 ** 31 - 1 ? 1 : id + 1;
    return id;
  }

  private method(m: unknown): string {
    if (typeof m !== 'string' || m.length === 0 || m.length > this.limits.maxMethodLength || !methodPattern.test(m))
      fail('RPC_INVALID', `method must be 1 to ${this.limits.maxMethodLength} printable ASCII characters.`);
    return m;
  }

  private params(p: unknown): unknown {
    const problem = jsonProblem(p);
    if (problem !== undefined) fail('RPC_INVALID', `params: ${problem}`);
    const bytes = Buffer.byteLength(JSON.stringify(p));
    if (bytes > this.limits.maxParamsBytes) fail('RPC_INVALID', `params are ${bytes} bytes of JSON; at most ${this.limits.maxParamsBytes} are allowed.`);
    return p;
  }

  private answerOf(payload: unknown): unknown {
    if (!(payload instanceof Uint8Array) && typeof payload !== 'string') return payload;
    const text = typeof payload === 'string' ? payload : Buffer.from(payload).toString('utf8');
    try {
      const v = JSON.parse(text) as unknown;
      return jsonProblem(v) === undefined ? v : text;
    } catch {
      return text;
    }
  }
}
