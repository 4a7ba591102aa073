// Scenario 3: end-to-end latency at a fixed total rate.
//
// Publishers and the subscriber live in this process, so send and receive times come from one clock
// (performance.now()). Every tick (~1 ms) the generator sends the messages that are due at `rate`, spread
// round-robin over the publishers, each stamped with the time it is written. Latency = arrival of the TCP
// chunk holding the message at the subscriber - stamp. Only messages sent after the warm-up are counted.
import type { QoS } from 'mqtt-packet';
import { RawClient, type ProtocolVersion } from './raw-client';
import { publishTemplate, SEQ_OFFSET, STAMP_OFFSET, type PublishTemplate } from './publish-ring';
import { startCpuMeter, type CpuShares } from './machine-cpu';

export interface LatencyOptions {
  port: number;
  qos: QoS;
  publishers: number;
  /** Total messages per second over all publishers. */
  rate: number;
  payloadBytes: number;
  warmupMs: number;
  durationMs: number;
  protocolVersion: ProtocolVersion;
  timeoutMs: number;
  idleMs: number;
  prefix: string;
  brokerCpuSeconds: () => number;
}

export interface LatencyResult {
  sent: number;
  received: number;
  samples: number;
  /** Achieved send rate over warm-up + measurement, messages/s. */
  sendRate: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU use over warm-up + measurement. */
  cpu: CpuShares;
}

/** Caps one tick's burst if the generator itself stalls, so a stall shows up as latency, not as a flood. */
const MAX_PER_TICK_FACTOR = 20;

export async function latency(o: LatencyOptions): Promise<LatencyResult> {
  const deadline = performance.now() + o.warmupMs + o.durationMs + o.timeoutMs;
  const clients: RawClient[] = [];
  try {
    const sub = await RawClient.connect({ port: o.port, clientId: `${o.prefix}-sub`, protocolVersion: o.protocolVersion, timeoutMs: o.timeoutMs });
    clients.push(sub);
    sub.autoAck = o.qos > 0;
    await sub.subscribe(`${o.prefix}/+`, o.qos, o.timeoutMs);
    const pubs: { client: RawClient; template: PublishTemplate; next: number }[] = [];
    for (let i = 0; i < o.publishers; i++) {
      const client = await RawClient.connect({ port: o.port, clientId: `${o.prefix}-pub${i}`, protocolVersion: o.protocolVersion, timeoutMs: o.timeoutMs });
      clients.push(client);
      const template = publishTemplate({
        topic: `${o.prefix}/${i}`,
        qos: o.qos,
        payloadBytes: o.payloadBytes,
        publisher: i,
        protocolVersion: o.protocolVersion,
      });
      pubs.push({ client, template, next: 0 });
    }

    const capacity = Math.ceil((o.rate * (o.durationMs + 1000)) / 1000);
    const samples = new Float64Array(capacity);
    let n = 0;
    let received = 0;
    let last = 0;
    let measureFrom = Infinity;
    let measureTo = Infinity;
    sub.onPublish = (buf, start) => {
      received++;
      last = sub.chunkTime;
      const stamp = buf.readDoubleLE(start + STAMP_OFFSET);
      if (stamp >= measureFrom && stamp < measureTo && n < capacity) samples[n++] = sub.chunkTime - stamp;
    };

    const cpuMeter = startCpuMeter(o.brokerCpuSeconds);
    const t0 = performance.now();
    measureFrom = t0 + o.warmupMs;
    measureTo = measureFrom + o.durationMs;
    const maxPerTick = Math.max(1, Math.ceil((o.rate / 1000) * MAX_PER_TICK_FACTOR));
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const now = performance.now();
        if (now >= measureTo) {
          resolve();
          return;
        }
        const due = Math.min(Math.floor(((now - t0) * o.rate) / 1000) - sent, maxPerTick);
        if (due > 0) {
          sendTick(pubs, sent, due, performance.now());
          sent += due;
        }
        setTimeout(tick, 1);
      };
      tick();
    });
    const tSent = performance.now();
    const cpu = cpuMeter();
    const allIn = new Promise<void>((resolve) => {
      const check = (): void => {
        const now = performance.now();
        if (received >= sent || now >= deadline || now - Math.max(last, tSent) >= o.idleMs) resolve();
        else setTimeout(check, 20);
      };
      check();
    });
    await allIn;

    const s = samples.subarray(0, n).sort();
    return {
      sent,
      received,
      samples: n,
      sendRate: (sent * 1000) / (tSent - t0),
      p50: percentile(s, 0.5),
      p99: percentile(s, 0.99),
      max: n > 0 ? s[n - 1]! : Number.NaN,
      cpu,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

/** Messages [first, first + count) go round-robin to the publishers, one write per publisher. */
function sendTick(pubs: { client: RawClient; template: PublishTemplate; next: number }[], first: number, count: number, stamp: number): void {
  const p = pubs.length;
  for (let i = 0; i < p; i++) {
    // Messages k with k % p === i.
    const firstK = first + ((i - (first % p) + p) % p);
    if (firstK >= first + count) continue;
    const m = Math.floor((first + count - 1 - firstK) / p) + 1;
    const pub = pubs[i]!;
    const t = pub.template;
    const len = t.packet.length;
    // A fresh buffer per write: the socket may still hold the previous one.
    const out = Buffer.allocUnsafe(len * m);
    for (let j = 0; j < m; j++) {
      const o = j * len;
      t.packet.copy(out, o);
      out.writeUInt32BE(pub.next, o + t.payloadOffset + SEQ_OFFSET);
      out.writeDoubleLE(stamp, o + t.payloadOffset + STAMP_OFFSET);
      if (t.idOffset >= 0) out.writeUInt16BE((pub.next % 65535) + 1, o + t.idOffset);
      pub.next++;
    }
    pub.client.socket.write(out);
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
