import type { BusEvents, TelemetryPoint } from '@thingstead/core';
import type { Broker } from '@thingstead/broker';
import { appTelemetryTopic } from './topics';

/**
 * Forwards committed telemetry to MQTT application clients (tenants/{t}/devices/{d}/telemetry): an ordinary
 * subscriber of the bus's `telemetry` event, one event per committed batch, delivered after the devices were
 * acknowledged. Each message of the batch becomes one MQTT message, as the device sent it. The returned promise
 * settles once the copies for persistent sessions are stored, which paces this subscriber (its bus queue, not
 * the devices, absorbs a slow broker write).
 */
export function telemetryForwarder(broker: Broker): (e: BusEvents['telemetry']) => Promise<void> | undefined {
  return (e) => {
    // While shutdown drains, what was committed is still forwarded (to persistent sessions, stored); after close() not.
    if (broker.isClosed) return undefined;
    let writes: Promise<void>[] | undefined;
    for (const m of e.messages) {
      const topic = appTelemetryTopic(m.tenantId, m.deviceId);
      // Most messages have no application listening; building and routing the copy cost a quarter of ingest.
      if (!broker.hasSubscribers(topic)) continue;
      (writes ??= []).push(broker.publish({ topic, payload: JSON.stringify(groupByTs(m.points)), qos: 1 }));
    }
    return writes && Promise.all(writes).then(() => undefined);
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
