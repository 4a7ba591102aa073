// Scenarios 1 and 2: N publishers -> 1 subscriber, as fast as the broker goes, at QoS 0 or QoS 1.
//
// Each publisher has its own topic `<prefix>/<i>`; the subscriber holds `<prefix>/+`. The rate is the number
// of messages the subscriber received divided by the time from the first to the last one it received.
import { RawClient, type ProtocolVersion } from './raw-client';
import { buildRing, publishTemplate, SEQ_OFFSET } from './publish-ring';
import { startCpuMeter, type CpuShares } from './machine-cpu';

export interface ThroughputOptions {
  port: number;
  qos: 0 | 1;
  publishers: number;
  messagesPerPublisher: number;
  payloadBytes: number;
  /** QoS 1: most un-acknowledged PUBLISH packets per publisher (capped by the broker's Receive Maximum). */
  window: number;
  /** QoS 0: packets per socket write. */
  batch: number;
  protocolVersion: ProtocolVersion;
  /** The scenario gives up after this long, whatever happened. */
  timeoutMs: number;
  /** After the publishers finish, stop waiting once nothing has arrived for this long. */
  idleMs: number;
  prefix: string;
  brokerCpuSeconds: () => number;
}

export interface ThroughputResult {
  sent: number;
  received: number;
  /** Messages per second at the subscriber, first to last received. */
  rate: number;
  /** Messages per second written by the publishers, first write to last write completed. */
  sendRate: number;
  lost: number;
  /** Per-publisher sequence breaks at the subscriber (gaps or reordering). */
  orderErrors: number;
  duplicates: number;
  /** CPU use from the first write to the last message received. */
  cpu: CpuShares;
}

const QOS1_RING = 65535;

export async function throughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const deadline = performance.now() + o.timeoutMs;
  const ringLength = o.qos === 0 ? o.batch : QOS1_RING;
  const clients: RawClient[] = [];
  try {
    const sub = await RawClient.connect({ port: o.port, clientId: `${o.prefix}-sub`, protocolVersion: o.protocolVersion, timeoutMs: o.timeoutMs });
    clients.push(sub);
    sub.autoAck = o.qos === 1;
    await sub.subscribe(`${o.prefix}/+`, o.qos, o.timeoutMs);
    const pubs: RawClient[] = [];
    for (let i = 0; i < o.publishers; i++) {
      const c = await RawClient.connect({ port: o.port, clientId: `${o.prefix}-pub${i}`, protocolVersion: o.protocolVersion, timeoutMs: o.timeoutMs });
      clients.push(c);
      pubs.push(c);
    }
    const rings = pubs.map((_, i) => {
      const t = publishTemplate({ topic: `${o.prefix}/${i}`, qos: o.qos, payloadBytes: o.payloadBytes, publisher: i, protocolVersion: o.protocolVersion });
      return { ring: buildRing(t, ringLength), packetBytes: t.packet.length, payloadOffset: t.payloadOffset };
    });

    const expected = o.publishers * o.messagesPerPublisher;
    const nextSeq = new Array<number>(o.publishers).fill(0);
    let received = 0;
    let orderErrors = 0;
    let first = 0;
    let last = 0;
    let allReceived: () => void = () => undefined;
    const allReceivedP = new Promise<void>((resolve) => {
      allReceived = resolve;
    });
    sub.onPublish = (buf, start) => {
      if (received === 0) first = sub.chunkTime;
      last = sub.chunkTime;
      received++;
      const pub = buf[start]!;
      const seq = buf.readUInt32BE(start + SEQ_OFFSET);
      if (seq !== nextSeq[pub]) orderErrors++;
      nextSeq[pub] = (seq + 1) % ringLength;
      if (received === expected) allReceived();
    };

    const cpuMeter = startCpuMeter(o.brokerCpuSeconds);
    const t0 = performance.now();
    const sentCounts = await Promise.all(
      pubs.map((c, i) => {
        const r = rings[i]!;
        return o.qos === 0
          ? floodQos0(c, r.ring, r.packetBytes, o.messagesPerPublisher, deadline)
          : pumpQos1(c, r.ring, r.packetBytes, o.messagesPerPublisher, Math.min(o.window, c.receiveMaximum), deadline);
      }),
    );
    const tSent = performance.now();
    await waitUntilIdle(allReceivedP, () => last, o.idleMs, deadline);
    const cpu = cpuMeter();

    const sent = sentCounts.reduce((a, b) => a + b, 0);
    return {
      sent,
      received,
      rate: received > 1 && last > first ? ((received - 1) * 1000) / (last - first) : 0,
      sendRate: (sent * 1000) / (tSent - t0),
      lost: sent - received,
      orderErrors,
      duplicates: sub.duplicates,
      cpu,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** Writes the ring (or its head) until `total` packets are out, waiting for 'drain' when the socket is full. */
async function floodQos0(c: RawClient, ring: Buffer, packetBytes: number, total: number, deadline: number): Promise<number> {
  const perRing = ring.length / packetBytes;
  let sent = 0;
  while (sent < total && performance.now() < deadline && !c.isClosed) {
    const n = Math.min(perRing, total - sent);
    const more = c.socket.write(n === perRing ? ring : ring.subarray(0, n * packetBytes));
    sent += n;
    if (!more) {
      if (!(await c.waitDrain(deadline))) break;
    } else {
      // A ring smaller than the high-water mark never blocks; yield so the subscriber gets to read.
      await new Promise(setImmediate);
    }
  }
  if (!c.isClosed) await c.waitFlushed(deadline);
  return sent;
}

/**
 * Keeps up to `window` PUBLISH packets un-acknowledged, topping the window up in slices of the ring.
 * The window bounds what is buffered, so no 'drain' is needed.
 */
function pumpQos1(c: RawClient, ring: Buffer, packetBytes: number, total: number, window: number, deadline: number): Promise<number> {
  const perRing = ring.length / packetBytes;
  return new Promise((resolve) => {
    let sent = 0;
    let acked = 0;
    const finish = (): void => {
      clearTimeout(timer);
      c.onPubacks = null;
      c.socket.off('close', finish);
      resolve(sent);
    };
    // Refill only once a quarter of the window is free: a broker that acks one PUBLISH per TCP segment would
    // otherwise make the generator issue one tiny write() per PUBACK and become the bottleneck.
    const refill = Math.max(1, Math.floor(window / 4));
    const pump = (): void => {
      const limit = Math.min(total, acked + window);
      if (limit - sent < refill && limit < total) {
        if (acked >= total) finish();
        return;
      }
      while (sent < limit) {
        const k = sent % perRing;
        const n = Math.min(limit - sent, perRing - k);
        c.socket.write(ring.subarray(k * packetBytes, (k + n) * packetBytes));
        sent += n;
      }
      if (acked >= total) finish();
    };
    const timer = setTimeout(finish, Math.max(0, deadline - performance.now()));
    c.socket.on('close', finish);
    c.onPubacks = (n) => {
      acked += n;
      pump();
    };
    pump();
  });
}

/** Resolves when `done` resolves, when nothing arrived for `idleMs`, or at the deadline. */
async function waitUntilIdle(done: Promise<void>, lastArrival: () => number, idleMs: number, deadline: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const idle = new Promise<void>((resolve) => {
    const check = (): void => {
      const now = performance.now();
      if (now >= deadline || now - Math.max(lastArrival(), started) >= idleMs) resolve();
      else timer = setTimeout(check, 50);
    };
    const started = performance.now();
    check();
  });
  await Promise.race([done, idle]);
  clearTimeout(timer);
}
