// MQTT device load: one raw TCP connection per device (username = its access token), publishing telemetry to
// v1/devices/me/telemetry. PUBLISH packets come from a per-connection template (only the packet id and the
// 13-digit ts change), are written in batches, and PUBACKs are framed inline, so the generator stays cheap.
import net from 'node:net';
import { generate } from 'mqtt-packet';
import { payloadParts, type BenchDevice } from './api';
import { FrameSplitter } from '../lib/mqtt-frames';
import { closeSocket } from '../lib/close-socket';

export type ProtocolVersion = 4 | 5;
const TOPIC = 'v1/devices/me/telemetry';
/** QoS 0: messages per socket write. */
const QOS0_BATCH = 200;

/** Publish -> PUBACK latencies (ms) of one scenario, across connections. */
export class LatencyRecorder {
  readonly samples: Float64Array;
  n = 0;
  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }
  add(ms: number): void {
    if (this.n < this.samples.length) this.samples[this.n++] = ms;
  }
}

export interface ConnOptions {
  port: number;
  device: BenchDevice;
  clientId: string;
  protocolVersion: ProtocolVersion;
  qos: 0 | 1;
  /** Values per message. */
  values: number;
  /** ts of the device's first message; message k carries tsBase + k, so no two values share (device, key, ts). */
  tsBase: number;
  total: number;
  /** QoS 1: most un-acknowledged PUBLISH at a time. */
  window: number;
  /** QoS 1: at most this many PUBLISH per second (message k is due (k + phase) / rate s after start()); unset: as the window allows. */
  ratePerSec?: number | undefined;
  /**
   * Where in its period a paced connection starts, in [0, 1): a fleet's devices are not synchronised, so paced
   * connections spread their sends instead of all publishing at the same instants. Default 0.
   */
  phase?: number | undefined;
  timeoutMs: number;
  latency: LatencyRecorder;
  /** Called when this connection finished: every PUBLISH acknowledged (QoS 1) or written (QoS 0), or closed. */
  onDone: () => void;
}

export class DeviceConnection {
  sent = 0;
  acked = 0;
  /** v5 PUBACKs with a reason code >= 0x80 (refused). */
  refused = 0;
  inflight = 0;
  /** performance.now() of the first write and of the last PUBACK (QoS 1) or write (QoS 0). */
  firstSendAt = Number.NaN;
  lastDoneAt = Number.NaN;
  closed = false;
  done = false;
  closeReason = '';

  private readonly tpl: Buffer;
  private readonly idOffset: number;
  private readonly tsOffset: number;
  private readonly sentAt = new Float64Array(65536);
  private nextId = 1;
  private readonly frames = new FrameSplitter();
  private connack: ((code: number) => void) | null = null;
  private readonly refill: number;
  private total: number;
  private rateTimer: NodeJS.Timeout | undefined;

  private constructor(
    readonly socket: net.Socket,
    private readonly o: ConnOptions,
  ) {
    const { head, tail } = payloadParts(o.values);
    const payload = Buffer.from(`${head}${'0'.repeat(13)}${tail}`, 'latin1');
    const variable = 2 + TOPIC.length + (o.qos > 0 ? 2 : 0) + (o.protocolVersion === 5 ? 1 : 0);
    const rl = variable + payload.length;
    const rlBytes: number[] = [];
    for (let x = rl; ;) {
      const b = x % 128;
      x = Math.floor(x / 128);
      rlBytes.push(x > 0 ? b | 0x80 : b);
      if (x === 0) break;
    }
    const tpl = Buffer.alloc(1 + rlBytes.length + rl);
    let p = 0;
    tpl[p++] = 0x30 | (o.qos << 1);
    for (const b of rlBytes) tpl[p++] = b;
    tpl.writeUInt16BE(TOPIC.length, p);
    p += 2;
    p += tpl.write(TOPIC, p, 'latin1');
    this.idOffset = p;
    if (o.qos > 0) p += 2;
    if (o.protocolVersion === 5) tpl[p++] = 0; // no properties
    this.tsOffset = p + head.length;
    payload.copy(tpl, p);
    this.tpl = tpl;
    this.refill = o.ratePerSec === undefined ? Math.max(1, Math.floor(o.window / 4)) : 1;
    this.total = o.total;
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('close', () => {
      this.closed = true;
      if (!this.done) {
        this.closeReason ||= 'connection closed by the server';
        this.finish();
      }
    });
    socket.on('drain', () => {
      if (this.o.qos === 0) this.pumpQos0();
    });
  }

  static async connect(o: ConnOptions): Promise<DeviceConnection> {
    const socket = net.connect({ port: o.port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`${o.clientId}: TCP connect timed out`));
      }, o.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    socket.on('error', () => {
      // A reset is reported through 'close' and the counts.
    });
    const c = new DeviceConnection(socket, o);
    const code = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${o.clientId}: no CONNACK within ${o.timeoutMs} ms`));
      }, o.timeoutMs);
      c.connack = (rc) => {
        clearTimeout(timer);
        resolve(rc);
      };
      socket.write(
        generate(
          {
            cmd: 'connect',
            protocolId: 'MQTT',
            protocolVersion: o.protocolVersion,
            clientId: o.clientId,
            username: o.device.token,
            clean: true,
            keepalive: 0,
            ...(o.protocolVersion === 5 ? { properties: { receiveMaximum: 65535 } } : {}),
          },
          { protocolVersion: o.protocolVersion },
        ),
      );
    });
    if (code !== 0) {
      socket.destroy();
      throw new Error(`${o.clientId}: CONNACK refused with code ${code}`);
    }
    return c;
  }

  start(): void {
    this.firstSendAt = performance.now() + (this.o.ratePerSec === undefined ? 0 : ((this.o.phase ?? 0) * 1000) / this.o.ratePerSec);
    if (this.total === 0) {
      this.finish();
      return;
    }
    if (this.o.qos === 0) this.pumpQos0();
    else this.pumpQos1();
  }

  /** Sends nothing more; the connection is done once what was sent is acknowledged (QoS 1). */
  stopSending(): void {
    clearTimeout(this.rateTimer);
    this.total = this.sent;
    if (this.o.qos === 0 || this.acked >= this.total) this.finish();
  }

  /** Sends DISCONNECT and waits (bounded) for the socket to close. */
  async close(timeoutMs = 2000): Promise<void> {
    clearTimeout(this.rateTimer);
    this.done = true;
    if (this.closed) return;
    await closeSocket(this.socket, Buffer.from([0xe0, 0x00]), timeoutMs);
  }

  abort(reason: string): void {
    if (this.done) return;
    this.closeReason ||= reason;
    this.finish();
  }

  private finish(): void {
    clearTimeout(this.rateTimer);
    if (this.done) return;
    this.done = true;
    this.o.onDone();
  }

  /** Writes `n` PUBLISH in one buffer. */
  private writeBatch(n: number): boolean {
    const len = this.tpl.length;
    const buf = Buffer.allocUnsafe(n * len);
    const now = performance.now();
    const qos1 = this.o.qos === 1;
    for (let k = 0; k < n; k++) {
      const off = k * len;
      this.tpl.copy(buf, off);
      if (qos1) {
        const id = this.nextId;
        this.nextId = id === 65535 ? 1 : id + 1;
        buf.writeUInt16BE(id, off + this.idOffset);
        this.sentAt[id] = now;
      }
      buf.write(String(this.o.tsBase + this.sent), off + this.tsOffset, 13, 'latin1');
      this.sent++;
    }
    return this.socket.write(buf);
  }

  private pumpQos1(): void {
    const free = this.o.window - this.inflight;
    const left = this.total - this.sent;
    let n = Math.min(free, left);
    const rate = this.o.ratePerSec;
    if (rate !== undefined && n > 0 && !this.closed) {
      const due = Math.floor(((performance.now() - this.firstSendAt) * rate) / 1000) + 1 - this.sent;
      if (due < n) {
        // Wake up when the next message is due (the first one not sent now).
        if (this.rateTimer === undefined) {
          const at = this.firstSendAt + ((this.sent + Math.max(0, due)) * 1000) / rate;
          this.rateTimer = setTimeout(
            () => {
              this.rateTimer = undefined;
              this.pumpQos1();
            },
            Math.max(1, at - performance.now()),
          );
        }
        n = Math.max(0, due);
      }
    }
    if (n <= 0 || n < Math.min(this.refill, left)) return;
    this.inflight += n;
    this.writeBatch(n);
  }

  private pumpQos0(): void {
    while (!this.done && !this.closed && this.sent < this.total) {
      const ok = this.writeBatch(Math.min(QOS0_BATCH, this.total - this.sent));
      if (!ok) return; // 'drain' resumes
    }
    if (this.sent >= this.total) {
      this.lastDoneAt = performance.now();
      this.finish();
    }
  }

  private onData(chunk: Buffer): void {
    const now = performance.now();
    let acks = 0;
    this.frames.push(chunk, (b0, buf, _start, i, end) => {
      const type = b0 >> 4;
      const rl = end - i;
      if (type === 4 && rl >= 2) {
        const id = buf.readUInt16BE(i);
        if (rl > 2 && buf[i + 2]! >= 0x80) this.refused++;
        this.o.latency.add(now - this.sentAt[id]!);
        acks++;
      } else if (type === 2 && rl >= 2) {
        this.connack?.(buf[i + 1]!);
        this.connack = null;
      } else if (type === 14) {
        this.closeReason = `DISCONNECT from the server${rl >= 1 ? ` (reason 0x${buf[i]!.toString(16)})` : ''}`;
      }
    });
    if (acks > 0) {
      this.acked += acks;
      this.inflight -= acks;
      this.lastDoneAt = now;
      if (this.acked >= this.total) this.finish();
      else this.pumpQos1();
    }
  }
}
