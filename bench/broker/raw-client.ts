// A minimal MQTT client over a raw TCP socket, built so the load generator is not the bottleneck.
//
// Control packets (CONNACK, SUBACK, ...) are encoded and decoded with mqtt-packet. PUBLISH and PUBACK, the
// only packets on the hot path, are framed inline: mqtt-packet's parser builds an object per packet and tops
// out near 1M packets/s on one core here, which would be a large share of the generator's CPU at 400k msg/s.
import net from 'node:net';
import { generate, parser, type Packet, type Parser, type QoS } from 'mqtt-packet';
import { FrameSplitter } from '../lib/mqtt-frames';
import { closeSocket } from '../lib/close-socket';

export type ProtocolVersion = 4 | 5;

/** Called once per received PUBLISH; the payload is `buf[payloadStart, payloadEnd)`, valid only during the call. */
export type PublishHandler = (buf: Buffer, payloadStart: number, payloadEnd: number, qos: number) => void;

export interface RawClientOptions {
  port: number;
  clientId: string;
  protocolVersion: ProtocolVersion;
  /** Milliseconds to wait for CONNACK and SUBACK. */
  timeoutMs: number;
}

const PUBACK_HEADER = 0x40;

export class RawClient {
  /** v5 Receive Maximum the server announced in CONNACK (65535 when absent, [MQTT-3.2.2.3.3]). */
  receiveMaximum = 65535;
  /** Received PUBLISH packets with the DUP flag set (redeliveries). */
  duplicates = 0;
  onPublish: PublishHandler | null = null;
  /** Called once per received TCP chunk with the number of PUBACKs it held. */
  onPubacks: ((count: number) => void) | null = null;
  /** performance.now() when the TCP chunk being processed arrived: one clock read per chunk, not per message. */
  chunkTime = 0;
  /** When set, every QoS 1 PUBLISH received is answered with a PUBACK, batched per TCP chunk. */
  autoAck = false;

  private readonly frames = new FrameSplitter();
  private readonly control: Parser;
  private controlWaiter: ((p: Packet) => void) | null = null;
  private closed = false;
  private ackIds: number[] = [];
  private ackScheduled = false;

  private constructor(
    readonly socket: net.Socket,
    readonly protocolVersion: ProtocolVersion,
  ) {
    this.control = parser({ protocolVersion });
    this.control.on('packet', (p: Packet) => {
      const w = this.controlWaiter;
      this.controlWaiter = null;
      w?.(p);
    });
    this.control.on('error', (err: Error) => {
      socket.destroy(err);
    });
    socket.on('data', (chunk: Buffer) => {
      this.onData(chunk);
    });
    socket.on('close', () => {
      this.closed = true;
    });
  }

  static async connect(opts: RawClientOptions): Promise<RawClient> {
    const socket = net.connect({ port: opts.port, host: '127.0.0.1' });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.on('error', () => {
      // A reset during teardown is expected; the scenario notices missing messages by counting.
    });
    const client = new RawClient(socket, opts.protocolVersion);
    const connack = client.nextControl(opts.timeoutMs);
    socket.write(
      generate(
        {
          cmd: 'connect',
          protocolId: 'MQTT',
          protocolVersion: opts.protocolVersion,
          clientId: opts.clientId,
          clean: true,
          keepalive: 0,
          ...(opts.protocolVersion === 5 ? { properties: { receiveMaximum: 65535 } } : {}),
        },
        { protocolVersion: opts.protocolVersion },
      ),
    );
    const p = await connack;
    if (p.cmd !== 'connack') throw new Error(`${opts.clientId}: expected CONNACK, got ${p.cmd}`);
    const code = p.reasonCode ?? p.returnCode ?? 0;
    if (code !== 0) throw new Error(`${opts.clientId}: CONNACK refused with code ${code}`);
    client.receiveMaximum = p.properties?.receiveMaximum ?? 65535;
    return client;
  }

  async subscribe(topic: string, qos: QoS, timeoutMs: number): Promise<void> {
    const suback = this.nextControl(timeoutMs);
    this.socket.write(generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }, { protocolVersion: this.protocolVersion }));
    const p = await suback;
    if (p.cmd !== 'suback') throw new Error(`expected SUBACK, got ${p.cmd}`);
    const granted = p.granted[0];
    if (granted !== qos) throw new Error(`SUBSCRIBE ${topic} granted ${JSON.stringify(granted)}, wanted QoS ${qos}`);
  }

  /** Resolves true when the socket can take more, false on deadline or close: every wait is bounded. */
  waitDrain(deadline: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.socket.off('drain', onDrain);
        this.socket.off('close', onClose);
        resolve(ok);
      };
      const onDrain = (): void => {
        done(true);
      };
      const onClose = (): void => {
        done(false);
      };
      const timer = setTimeout(onClose, Math.max(0, deadline - performance.now()));
      this.socket.on('drain', onDrain);
      this.socket.on('close', onClose);
    });
  }

  /** Resolves when everything written has been handed to the kernel (polled, so it needs no pending 'drain'). */
  async waitFlushed(deadline: number): Promise<void> {
    while (!this.closed && this.socket.writableLength > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sends DISCONNECT and waits (bounded) for the socket to close. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.closed) return;
    await closeSocket(this.socket, generate({ cmd: 'disconnect' }, { protocolVersion: this.protocolVersion }), timeoutMs);
  }

  private nextControl(timeoutMs: number): Promise<Packet> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.controlWaiter = null;
        reject(new Error(`no answer from the broker within ${timeoutMs} ms`));
      }, timeoutMs);
      this.controlWaiter = (p) => {
        clearTimeout(timer);
        resolve(p);
      };
    });
  }

  private onData(chunk: Buffer): void {
    this.chunkTime = performance.now();
    let pubacks = 0;
    const ok = this.frames.push(chunk, (b0, buf, start, bodyStart, end) => {
      const type = b0 >> 4;
      if (type === 3) this.handlePublish(buf, b0, bodyStart, end);
      else if (type === 4) pubacks++;
      else this.control.parse(buf.subarray(start, end));
    });
    if (!ok) {
      this.socket.destroy(new Error('malformed remaining length from broker'));
      return;
    }
    // PUBACKs go out once per event-loop turn, so chunks read in the same turn share one write().
    if (this.ackIds.length > 0 && !this.ackScheduled) {
      this.ackScheduled = true;
      setImmediate(this.flushAcks);
    }
    if (pubacks > 0) this.onPubacks?.(pubacks);
  }

  private handlePublish(buf: Buffer, b0: number, start: number, end: number): void {
    const qos = (b0 >> 1) & 3;
    if ((b0 & 0x08) !== 0) this.duplicates++;
    let p = start + 2 + buf.readUInt16BE(start);
    if (qos > 0) {
      if (this.autoAck) this.ackIds.push(buf.readUInt16BE(p));
      p += 2;
    }
    if (this.protocolVersion === 5) {
      // Skip the properties: a variable byte integer length, then that many bytes.
      let plen = 0;
      let mul = 1;
      for (let k = 0; k < 4; k++) {
        const b = buf[p++]!;
        plen += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) break;
      }
      p += plen;
    }
    this.onPublish?.(buf, p, end, qos);
  }

  private readonly flushAcks = (): void => {
    this.ackScheduled = false;
    if (this.closed) return;
    const ids = this.ackIds;
    this.ackIds = [];
    const out = Buffer.allocUnsafe(ids.length * 4);
    for (let k = 0; k < ids.length; k++) {
      const o = k * 4;
      out[o] = PUBACK_HEADER;
      out[o + 1] = 2;
      out.writeUInt16BE(ids[k]!, o + 2);
    }
    this.socket.write(out);
  };
}
