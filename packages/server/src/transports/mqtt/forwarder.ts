import type { Broker } from '@thingstead/broker';
import type { BusEvents, TelemetryPoint } from '@thingstead/core';
import type { Logger } from 'pino';
import { appTelemetryTopic } from './topics';

export interface ForwarderOptions {
  broker: Broker;
  logger: Logger;
  /** Committed batches waiting to be forwarded; beyond this the oldest is dropped and counted. */
  maxPending: number;
  onDropped: () => void;
}

/**
 * Forwards committed telemetry to MQTT application clients (tenants/{t}/devices/{d}/telemetry), off the
 * device's acknowledgement path: the bus handler only appends to a bounded list, and the list is routed after
 * the current event-loop turn, in one go. A slow, offline or full subscriber therefore never delays a device's
 * PUBACK; its queue drops by the broker's policy and counts. A copy is stored for persistent sessions as soon as
 * broker.publish() resolves, a few milliseconds after the device's data was committed.
 */
export class TelemetryForwarder {
  private pending: BusEvents['telemetry'][] = [];
  private scheduled = false;

  constructor(private readonly o: ForwarderOptions) {}

  /** The bus handler: cheap and synchronous. */
  readonly enqueue = (e: BusEvents['telemetry']): void => {
    if (this.pending.length >= this.o.maxPending) {
      this.pending.shift();
      this.o.onDropped();
    }
    this.pending.push(e);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.run);
    }
  };

  private readonly run = (): void => {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const broker = this.o.broker;
    // While shutdown drains, what was committed is still forwarded (to persistent sessions, stored); after close() not.
    if (broker.isClosed) return;
    for (const e of batch) {
      const topic = appTelemetryTopic(e.tenantId, e.deviceId);
      // Most messages have no application listening; building and routing the copy cost a quarter of ingest.
      if (!broker.hasSubscribers(topic)) continue;
      broker.publish({ topic, payload: JSON.stringify(groupByTs(e.points)), qos: 1 }).catch((err: unknown) => {
        this.o.logger.warn({ err }, 'forwarding telemetry to MQTT applications failed');
      });
    }
  };
}

/** Committed points as the ThingsBoard array form: [{ts, values: {...}}], one entry per timestamp. */
function groupByTs(points: readonly TelemetryPoint[]): { ts: number; values: Record<string, unknown> }[] {
  const byTs = new Map<number, Record<string, unknown>>();
  for (const p of points) {
    let values = byTs.get(p.ts);
    if (!values) byTs.set(p.ts, (values = {}));
    values[p.key] = p.value;
  }
  return [...byTs].map(([ts, values]) => ({ ts, values }));
}
