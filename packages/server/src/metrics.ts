import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, prefix thingstead_. Labels are low-cardinality only: never a device or user id. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly telemetryPoints: Counter<'transport'>;
  readonly telemetryMessages: Counter<'transport'>;
  readonly telemetryRejected: Counter<'transport' | 'reason'>;

  constructor(opts: { pendingPoints: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'thingstead_' });
    const registers = [this.registry];
    this.httpRequests = new Counter({ name: 'thingstead_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({
      name: 'thingstead_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route'], registers,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    });
    this.telemetryPoints = new Counter({ name: 'thingstead_telemetry_points_total', help: 'Telemetry values committed', labelNames: ['transport'], registers });
    this.telemetryMessages = new Counter({ name: 'thingstead_telemetry_messages_total', help: 'Telemetry messages committed', labelNames: ['transport'], registers });
    this.telemetryRejected = new Counter({ name: 'thingstead_telemetry_rejected_total', help: 'Telemetry messages refused, by error code', labelNames: ['transport', 'reason'], registers });
    new Gauge({ name: 'thingstead_telemetry_pending_points', help: 'Values waiting for group commit', registers, collect() { this.set(opts.pendingPoints()); } });
  }
}
