import type { Duplex } from 'node:stream';
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from 'mqtt-packet';
import type { Broker } from '../broker';
import { duplexPair } from './duplex-pair';

type ByCmd<C extends Packet['cmd']> = Extract<Packet, { cmd: C }>;

/** A raw MQTT client over an in-memory duplex: sends exact packets and inspects every reply. */
export class TestClient {
  readonly stream: Duplex;
  readonly received: Packet[] = [];
  readonly version: 3 | 4 | 5;
  closed = false;
  private readonly waiters: (() => void)[] = [];

  constructor(broker: Broker, version: 3 | 4 | 5 = 4, options: { highWaterMark?: number; remoteAddress?: string } = {}) {
    this.version = version;
    const [client, server] = duplexPair(options.highWaterMark);
    this.stream = client;
    broker.handle(server, { transport: 'tcp', remoteAddress: options.remoteAddress ?? '127.0.0.1' });
    const parser = mqttPacket.parser({ protocolVersion: version });
    parser.on('packet', (p: Packet) => {
      this.received.push(p);
      this.wake();
    });
    client.on('data', (chunk: Buffer) => parser.parse(chunk));
    const onClose = (): void => {
      this.closed = true;
      this.wake();
    };
    client.on('end', onClose);
    client.on('close', onClose);
    client.on('error', onClose);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(packet: Packet): void {
    this.stream.write(mqttPacket.generate(packet, { protocolVersion: this.version }));
  }

  raw(bytes: Buffer | number[]): void {
    this.stream.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  /** Waits for the next packet (of a given type, skipping nothing) or fails after timeoutMs. */
  async next<C extends Packet['cmd']>(cmd?: C, timeoutMs = 2000): Promise<ByCmd<C>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.received.shift();
      if (p !== undefined) {
        if (cmd !== undefined && p.cmd !== cmd) throw new Error(`expected ${cmd}, got ${p.cmd}: ${JSON.stringify(p)}`);
        return p as ByCmd<C>;
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${cmd ?? 'a packet'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${cmd ?? 'a packet'}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Resolves when the broker closed the connection, failing after timeoutMs. */
  async waitClosed(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('connection still open');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Lets pending I/O settle and returns whatever arrived meanwhile (usually asserting nothing did). */
  async drain(ms = 20): Promise<Packet[]> {
    await new Promise((r) => setTimeout(r, ms));
    return this.received.splice(0);
  }

  async connect(options: Partial<IConnectPacket> = {}): Promise<IConnackPacket> {
    this.send({
      cmd: 'connect',
      clientId: 'c',
      protocolVersion: this.version,
      protocolId: this.version === 3 ? 'MQIsdp' : 'MQTT',
      clean: true,
      keepalive: 0,
      ...options,
    });
    return this.next('connack');
  }

  end(): void {
    this.stream.end();
  }
}

export async function connected(broker: Broker, version: 3 | 4 | 5, options: Partial<IConnectPacket> = {}): Promise<TestClient> {
  const c = new TestClient(broker, version);
  const ack = await c.connect(options);
  if ((ack.reasonCode ?? ack.returnCode ?? 0) !== 0) throw new Error(`connect refused: ${JSON.stringify(ack)}`);
  return c;
}
