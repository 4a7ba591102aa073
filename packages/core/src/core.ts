import { ApiKeyService } from './accounts/api-key-service';
import { AlarmService } from './alarms/alarm-service';
import type { AlarmLimits } from './alarms/model';
import { AuthService, type AuthOptions } from './accounts/auth-service';
import { bootstrap, type BootstrapResult } from './accounts/bootstrap';
import { TenantService } from './accounts/tenant-service';
import type { AccessTokenSigner } from './accounts/tokens';
import { AttributeService, defaultAttributeLimits } from './attributes/attribute-service';
import type { AttributeStoreLimits } from './attributes/model';
import { UserService } from './accounts/user-service';
import type { EventBus } from './bus';
import { SharedAttributeUpdates } from './attributes/shared-updates';
import type { RpcLimits } from './rpc/model';
import { registerPlatformMethods } from './rpc/platform-methods';
import { RpcService } from './rpc/rpc-service';
import type { Clock } from './clock';
import { ConnectivityService } from './devices/connectivity';
import { DeviceService } from './devices/device-service';
import { ProfileService } from './devices/profile-service';
import { GatewayService, type GatewayLimits } from './gateway/gateway-service';
import { LiveService } from './live/live-service';
import { defaultLiveLimits, type LiveLimits } from './live/model';
import { NotificationService } from './notifications/notification-service';
import type { NotificationLimits } from './notifications/model';
import type { HttpPoster, Mailer } from './notifications/ports';
import { IngressService, noIngestObserver, type IngestObserver } from './ingress/ingress-service';
import { engineActionPorts, type Republisher } from './rules/engine-ports';
import { RuleEngine, type RuleEngineLimits } from './rules/rule-engine';
import { RuleService } from './rules/rule-service';
import type { Store } from './store';
import type { TelemetryLimits } from './telemetry/decode';
import type { GroupCommitLimits, GroupCommitOptions } from './telemetry/group-commit';
import type { KeyQuotaLimits } from './telemetry/key-quota';
import { RetentionJob, type RetentionOptions } from './telemetry/retention';
import { TelemetryService } from './telemetry/telemetry-service';

/**
 * Every telemetry setting core reads, named as in the server config's `telemetry` section: the server passes
 * that section through, and its config checks at compile time that the section satisfies this type.
 */
export type TelemetrySettings = TelemetryLimits & KeyQuotaLimits & GroupCommitLimits & RetentionOptions;

export interface CoreOptions {
  store: Store;
  clock: Clock;
  bus: EventBus;
  tokens: AccessTokenSigner;
  auth: AuthOptions;
  telemetry: TelemetrySettings & Pick<GroupCommitOptions, 'defer'>;
  /** The limits of a device's attributes (defaultAttributeLimits); keys and values follow the telemetry settings. */
  attributes?: Partial<AttributeStoreLimits>;
  /** Counts of received telemetry per transport; none by default. */
  ingestObserver?: IngestObserver;
  /** Limits of RPC (defaultRpcLimits). */
  rpc?: Partial<RpcLimits>;
  /** A device answered an RPC id nobody waits for (the server counts them). */
  onUnmatchedRpcResponse?: () => void;
  /** Limits of gateways and their children (defaultGatewayLimits). */
  gateway?: Partial<GatewayLimits>;
  /** Limits of alarms (defaultAlarmLimits). */
  alarms?: Partial<AlarmLimits>;
  /** Limits of the live API's sessions (defaultLiveLimits). */
  live?: Partial<LiveLimits>;
  /** Values live sessions conflated because their client was behind (the server counts them). */
  onLiveConflated?: (n: number) => void;
  /** Limits of the rule engine (defaultRuleEngineLimits). */
  rules?: Partial<RuleEngineLimits>;
  /** Publishes on the platform's MQTT broker, for rules' republish action. */
  republish?: Republisher;
  /** Sends email for notification channels (the server's nodemailer adapter); without one, email deliveries fail. */
  mailer?: Mailer;
  /** POSTs webhooks (the server's fetch adapter); without one, webhook deliveries fail. */
  http?: HttpPoster;
  /** Limits and the retry policy of notifications (defaultNotificationLimits). */
  notifications?: Partial<NotificationLimits>;
  /** The jitter source of notification retries (Math.random; tests fix it). */
  random?: () => number;
  /** A fault of the notification worker or of notify() (the store failed): the rule engine never sees it (the server logs it). */
  onNotificationError?: (err: unknown) => void;
}

/** The domain's use cases, wired to the ports the composition root chose. */
export interface Core {
  auth: AuthService;
  tenants: TenantService;
  users: UserService;
  apiKeys: ApiKeyService;
  profiles: ProfileService;
  devices: DeviceService;
  connectivity: ConnectivityService;
  telemetry: TelemetryService;
  attributes: AttributeService;
  /** Commands to devices and their answers; the platform methods devices may call. */
  rpc: RpcService;
  /** Alarms: raised and cleared by rules, acknowledged, cleared and commented by people. */
  alarms: AlarmService;
  /** HTTP devices' long-poll of shared-attribute changes. */
  sharedUpdates: SharedAttributeUpdates;
  /** The live API's sessions and subscriptions (the WebSocket transport's core). */
  live: LiveService;
  /** Notification channels, deliveries (with retries) and the inbox; notify() and webhook() are the rule engine's. */
  notifications: NotificationService;
  /** What device-facing transports call: authenticate a connection, receive a device's telemetry. */
  ingress: IngressService;
  /** The gateway API: a gateway device's sessions speaking for its children. */
  gateway: GatewayService;
  retention: RetentionJob;
  /** Rules as data: CRUD, versions, import/export, replay (test) and traces. */
  rules: RuleService;
  /** Evaluates the enabled rules after commit (started by start()). */
  ruleEngine: RuleEngine;
  bootstrap(admin: { email: string; password?: string | undefined }): Promise<BootstrapResult>;
  /**
   * Recomputes what the last process held in memory: nobody is connected, devices that sent within their
   * profile's inactivity timeout are active; notification deliveries left PENDING or RETRYING are sent. Called
   * once, before the transports take connections.
   */
  start(): Promise<void>;
  /** Commits pending telemetry and stops background work; the store stays open. */
  close(): Promise<void>;
}

export function createCore(o: CoreOptions): Core {
  const { store, clock, bus } = o;
  const tenants = new TenantService(store, clock, bus);
  const users = new UserService(store, clock, bus);
  const telemetry = new TelemetryService(store, clock, bus, o.telemetry, o.telemetry);
  const retention = new RetentionJob(store, clock, o.telemetry);
  const connectivity = new ConnectivityService({ store, clock, bus });
  const auth = new AuthService(store, o.tokens, clock, o.auth);
  const devices = new DeviceService(store, clock, bus, connectivity);
  const attributes = new AttributeService({
    store,
    clock,
    bus,
    limits: { ...defaultAttributeLimits, ...o.attributes, maxKeyLength: o.telemetry.maxKeyLength, maxValueBytes: o.telemetry.maxValueBytes },
  });
  const rpc = new RpcService({
    store,
    clock,
    bus,
    online: (id) => connectivity.online(id),
    ...(o.rpc ? { limits: o.rpc } : {}),
    ...(o.onUnmatchedRpcResponse ? { onUnmatchedResponse: o.onUnmatchedRpcResponse } : {}),
  });
  registerPlatformMethods(rpc, { clock, attributes });
  const alarms = new AlarmService({ store, clock, bus, ...(o.alarms ? { limits: o.alarms } : {}) });
  const sharedUpdates = new SharedAttributeUpdates({ bus, clock });
  const profiles = new ProfileService(store, clock, bus);
  const ingress = new IngressService(auth, devices, connectivity, telemetry, clock, o.ingestObserver ?? noIngestObserver);
  const gateway = new GatewayService({
    store,
    clock,
    bus,
    devices,
    profiles,
    connectivity,
    ingress,
    attributes,
    rpc,
    telemetryLimits: o.telemetry,
    limits: o.gateway,
  });
  const live = new LiveService({
    store,
    bus,
    clock,
    limits: { ...defaultLiveLimits, ...o.live },
    ...(o.onLiveConflated ? { onConflated: o.onLiveConflated } : {}),
  });
  const notifications = new NotificationService({
    store,
    clock,
    mailer: o.mailer,
    http: o.http,
    limits: o.notifications,
    ...(o.random ? { random: o.random } : {}),
    ...(o.onNotificationError ? { onError: o.onNotificationError } : {}),
  });
  const ruleRef: { service?: RuleService } = {};
  const ruleEngine = new RuleEngine({
    store,
    bus,
    clock,
    ports: engineActionPorts({ rpc, attributes, telemetry, alarms, notifications, republish: o.republish }),
    ...(o.rules ? { limits: o.rules } : {}),
    onDisable: (rule, reason) => ruleRef.service?.disableFailing(rule, reason) ?? Promise.resolve(),
  });
  const rules = new RuleService({ store, clock, bus, engine: ruleEngine });
  ruleRef.service = rules;
  return {
    auth,
    tenants,
    users,
    apiKeys: new ApiKeyService(store, clock, bus),
    profiles,
    devices,
    connectivity,
    telemetry,
    attributes,
    rpc,
    alarms,
    sharedUpdates,
    live,
    notifications,
    ingress,
    gateway,
    retention,
    rules,
    ruleEngine,
    bootstrap: (admin) => bootstrap({ store, tenants, users }, admin),
    start: async () => {
      await connectivity.start();
      await ruleEngine.start();
      notifications.start();
    },
    close: async () => {
      retention.stop();
      await ruleEngine.close();
      await rpc.close();
      await notifications.close();
      gateway.close();
      sharedUpdates.close();
      live.close();
      await telemetry.close();
      await connectivity.close();
    },
  };
}
