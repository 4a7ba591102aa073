import type { BrokerStats } from '@thingstead/broker';
import type { RuleEngineTotals } from '@thingstead/core';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** The names prom-client's default metrics get here (every metric registered before the platform's own). */
export const defaultMetricNames: ReadonlySet<string> = (() => {
  const r = new Registry();
  collectDefaultMetrics({ register: r, prefix: 'thingstead_' });
  return new Set(r.getMetricsAsArray().map((m) => m.name));
})();

/** Prometheus metrics, prefix thingstead_. Labels are low-cardinality only: never a device or user id. */
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  readonly httpDuration: Histogram<'method' | 'route'>;
  readonly telemetryPoints: Counter<'transport'>;
  readonly telemetryMessages: Counter<'transport'>;
  readonly telemetryRejected: Counter<'transport' | 'reason'>;
  readonly busDropped: Counter<'topic' | 'subscriber'>;
  readonly busHandlerErrors: Counter<'topic' | 'subscriber'>;
  readonly authFailures: Counter<'transport'>;
  readonly telemetryFlushFailures: Counter;
  readonly rpcUnmatched: Counter;
  readonly wsMessagesSent: Counter;
  readonly wsConflated: Counter;

  constructor(opts: { pendingPoints: () => number; replacedPoints: () => number; notificationsQueued?: () => number; notificationsRefused?: () => number }) {
    collectDefaultMetrics({ register: this.registry, prefix: 'thingstead_' });
    // prom-client names three gauges *_total (sums of the by-type gauges beside them, which stay): a name ending in
    // _total promises a counter to Prometheus (promtool check metrics refuses them), so they go.
    for (const kind of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`thingstead_nodejs_active_${kind}_total`);
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'thingstead_http_requests_total',
      help: 'HTTP requests by route and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'thingstead_http_request_duration_seconds',
      help: 'HTTP request duration',
      labelNames: ['method', 'route'],
      registers,
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    });
    this.telemetryPoints = new Counter({ name: 'thingstead_telemetry_points_total', help: 'Telemetry values committed', labelNames: ['transport'], registers });
    this.telemetryMessages = new Counter({
      name: 'thingstead_telemetry_messages_total',
      help: 'Telemetry messages committed',
      labelNames: ['transport'],
      registers,
    });
    this.telemetryRejected = new Counter({
      name: 'thingstead_telemetry_rejected_total',
      help: 'Telemetry messages refused, by error code',
      labelNames: ['transport', 'reason'],
      registers,
    });
    this.busDropped = new Counter({
      name: 'thingstead_bus_events_dropped_total',
      help: 'Bus events a subscriber lost because its queue was full (it could not keep up)',
      labelNames: ['topic', 'subscriber'],
      registers,
    });
    this.busHandlerErrors = new Counter({
      name: 'thingstead_bus_handler_errors_total',
      help: 'Bus events whose handler failed',
      labelNames: ['topic', 'subscriber'],
      registers,
    });
    this.authFailures = new Counter({
      name: 'thingstead_auth_failures_total',
      help: 'Refused credentials: MQTT CONNECTs refused as not authorized, HTTP requests answered 401',
      labelNames: ['transport'],
      registers,
    });
    this.telemetryFlushFailures = new Counter({
      name: 'thingstead_telemetry_flush_failures_total',
      help: 'Background flushes of telemetry from the write-ahead log into the database that failed (the points stay in the log; retried)',
      registers,
    });
    this.rpcUnmatched = new Counter({
      name: 'thingstead_rpc_responses_unmatched_total',
      help: 'RPC answers from devices that matched no waiting call (unknown or malformed id, timed out, answered already); ignored',
      registers,
    });
    this.wsMessagesSent = new Counter({
      name: 'thingstead_ws_messages_sent_total',
      help: 'Messages sent to live API (WebSocket /api/ws) clients',
      registers,
    });
    this.wsConflated = new Counter({
      name: 'thingstead_ws_conflated_total',
      help: 'Live API values replaced by a newer value of the same key before a client that was behind read them (its queue was full)',
      registers,
    });
    totalCounter(
      'thingstead_telemetry_replaced_total',
      'Committed values that replaced an earlier value of the same device, key and ts (only values with a ts the device sent; the later one is kept)',
      registers,
      opts.replacedPoints,
    );
    totalCounter(
      'thingstead_notifications_refused_total',
      'Notification deliveries refused because the delivery queue was full (recorded FAILED in the delivery log)',
      registers,
      opts.notificationsRefused ?? (() => 0),
    );
    readGauge(
      'thingstead_notifications_queued',
      'Notification deliveries waiting in the queue of this process or being sent',
      registers,
      () => opts.notificationsQueued?.() ?? 0,
    );
    readGauge('thingstead_telemetry_pending_points', 'Values waiting for group commit', registers, () => opts.pendingPoints());
  }

  /** Core's counts of received telemetry. */
  readonly ingest = {
    accepted: (transport: string, points: number): void => {
      this.telemetryMessages.inc({ transport });
      this.telemetryPoints.inc({ transport }, points);
    },
    rejected: (transport: string, code: string): void => {
      this.telemetryRejected.inc({ transport, reason: code });
    },
  };

  /** The live API's open WebSockets (authenticated or not), read at scrape time. */
  observeLiveApi(connections: () => number): void {
    readGauge('thingstead_ws_connections', 'Open live API WebSocket connections (/api/ws)', [this.registry], connections);
  }

  /** The rule engine's running totals and load, read at scrape time. */
  observeRules(totals: () => RuleEngineTotals, status: () => { rules: number; queued: number; inflightActions: number; instances: number }): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: () => number) => readGauge(name, help, registers, pick);
    gauge('thingstead_rules_loaded', 'Enabled rules the engine runs', () => status().rules);
    gauge('thingstead_rules_queued_events', 'Events waiting for the rule engine', () => status().queued);
    gauge('thingstead_rules_inflight_actions', 'Rule actions running (RPCs, alarm writes, notifications)', () => status().inflightActions);
    gauge('thingstead_rules_states', '(rule, device) states held in memory', () => status().instances);
    const counter = (name: string, help: string, pick: (t: RuleEngineTotals) => number) => totalCounter(name, help, registers, () => pick(totals()));
    counter('thingstead_rules_evaluations_total', 'Rule evaluations (one rule for one device and one trigger)', (t) => t.evaluations);
    counter('thingstead_rules_errors_total', 'Rule evaluations that failed (an expression error or a passed bound)', (t) => t.errors);
    counter('thingstead_rules_actions_total', 'Rule actions started', (t) => t.actionsRun);
    counter('thingstead_rules_actions_failed_total', 'Rule actions that failed', (t) => t.actionsFailed);
    counter('thingstead_rules_actions_dropped_total', 'Rule actions refused because too many were running', (t) => t.actionsDropped);
    counter('thingstead_rules_disabled_total', 'Rules the engine disabled after failing 10 times in a row', (t) => t.disabled);
    counter(
      'thingstead_rules_events_dropped_total',
      'Events the rule engine refused because its queue was full (rules fell behind; ingest never waits)',
      (t) => t.eventsDropped,
    );
    counter(
      'thingstead_rules_chains_stopped_total',
      'Calculated telemetry that triggered no rule: rules had written to that device instant 16 times (rules feeding each other)',
      (t) => t.chainsStopped,
    );
  }

  /** Broker statistics ($SYS-style), read at scrape time. */
  observeBroker(stats: () => BrokerStats): void {
    const registers = [this.registry];
    const gauge = (name: string, help: string, pick: (s: BrokerStats) => number) => readGauge(name, help, registers, () => pick(stats()));
    gauge('thingstead_mqtt_clients_connected', 'MQTT clients connected', (s) => s.clientsConnected);
    gauge('thingstead_mqtt_sessions', 'MQTT sessions (connected and persistent)', (s) => s.sessions);
    gauge('thingstead_mqtt_subscriptions', 'MQTT subscriptions', (s) => s.subscriptions);
    gauge('thingstead_mqtt_retained_messages', 'Retained MQTT messages', (s) => s.retained);
    gauge('thingstead_mqtt_connections', 'Open MQTT connections (TCP, TLS, WebSocket), CONNECT done or not', (s) => s.connections);
    // The broker's running totals, as counters.
    const counter = (name: string, help: string, pick: (s: BrokerStats) => number) => totalCounter(name, help, registers, () => pick(stats()));
    counter('thingstead_mqtt_messages_received_total', 'PUBLISH packets received', (s) => s.messagesIn);
    counter('thingstead_mqtt_messages_sent_total', 'PUBLISH packets sent', (s) => s.messagesOut);
    counter('thingstead_mqtt_messages_dropped_total', 'Messages dropped because a client queue was full', (s) => s.messagesDropped);
    counter('thingstead_mqtt_messages_refused_total', 'PUBLISH packets refused (authorization or hook)', (s) => s.messagesRefused);
    counter('thingstead_mqtt_received_bytes_total', 'MQTT bytes received', (s) => s.bytesIn);
    counter('thingstead_mqtt_sent_bytes_total', 'MQTT bytes sent', (s) => s.bytesOut);
    counter('thingstead_mqtt_connections_accepted_total', 'MQTT connections accepted (before CONNECT)', (s) => s.connectionsTotal);
    counter(
      'thingstead_mqtt_client_errors_total',
      'Exceptions contained to one MQTT client (each closed that connection); above 0 is a bug to report',
      (s) => s.clientErrors,
    );
    counter(
      'thingstead_mqtt_state_dropped_total',
      'Stored retained messages, sessions and queued messages dropped at load because they failed validation',
      (s) => s.stateDropped,
    );
  }
}

/** A gauge read at scrape time. */
function readGauge(name: string, help: string, registers: Registry[], read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

/** A true counter over a running total kept elsewhere, advanced at scrape time. */
function totalCounter(name: string, help: string, registers: Registry[], total: () => number): Counter {
  let reported = 0;
  return new Counter({
    name,
    help,
    registers,
    collect() {
      const now = total();
      if (now > reported) this.inc(now - reported);
      reported = Math.max(reported, now);
    },
  });
}
