import { randomBytes } from 'node:crypto';
import type { IConnackPacket, IConnectPacket } from 'mqtt-packet';
import type { HandlerContext } from './handler-context';
import type { Client } from '../client';
import { encodePacket } from '../codec/encode';
import { Message } from '../message';
import { maxMountPointLength, type AuthResult } from '../options';
import { ReasonCode, toV3ConnackCode } from '../reason-codes';
import { neverExpires, sessionKey, type Session } from '../session';
import { mountPointError, topicMatches, topicNameError, unmountFilter } from '../topic';

type ConnackProperties = NonNullable<IConnackPacket['properties']>;

function refuse(client: Client, reasonCode: number, reasonString?: string): void {
  const v5 = client.protocolVersion === 5;
  // [MQTT-3.2.2-6] (v5) / [MQTT-3.2.2-4] (3.1.1): Session Present is 0 on a refusal.
  const packet: IConnackPacket = v5
    ? { cmd: 'connack', sessionPresent: false, reasonCode }
    : { cmd: 'connack', sessionPresent: false, returnCode: toV3ConnackCode(reasonCode) };
  if (v5 && reasonString !== undefined && client.problemInformation) packet.properties = { reasonString };
  client.write(encodePacket(packet, client.protocolVersion));
  // [MQTT-3.2.2-7] (v5) / [MQTT-3.2.2-5] (3.1.1): close the connection after a refusing CONNACK.
  client.shutdown({ reasonCode, message: reasonString ?? 'connection refused', byClient: false });
}

async function authenticate(broker: HandlerContext, client: Client, packet: IConnectPacket, clientId: string): Promise<AuthResult> {
  const hook = broker.hooks.authenticate;
  if (hook === undefined) return { ok: true };
  try {
    return await hook({
      clientId,
      protocolVersion: client.protocolVersion,
      ...(packet.username === undefined ? {} : { username: packet.username }),
      ...(packet.password === undefined ? {} : { password: packet.password }),
      ...(client.remoteAddress === undefined ? {} : { remoteAddress: client.remoteAddress }),
      ...(packet.properties === undefined ? {} : { properties: packet.properties }),
    });
  } catch {
    return { ok: false, reasonCode: ReasonCode.ServerUnavailable, reasonString: 'authentication failed' };
  }
}

/** Drops the stored subscriptions the authorizeSubscribe hook refuses now, and queued messages no subscription wants. */
async function reauthorize(broker: HandlerContext, client: Client, session: Session): Promise<void> {
  const hook = broker.hooks.authorizeSubscribe;
  if (hook === undefined || session.subscriptions.size === 0) return;
  let removed = false;
  for (const sub of [...session.subscriptions.values()]) {
    let allowed: boolean;
    try {
      const r = await hook(client, {
        topic: unmountFilter(session.mountPoint, sub.filter),
        qos: sub.qos,
        noLocal: sub.noLocal,
        retainAsPublished: sub.retainAsPublished,
        retainHandling: sub.retainHandling,
        shareGroup: sub.shareGroup,
      });
      allowed = r === true || (typeof r === 'number' && r < 0x80);
    } catch (error) {
      broker.hookError(error, client);
      allowed = false;
    }
    if (!allowed && broker.removeSubscription(session, sub.filter)) removed = true;
  }
  if (!removed) return;
  const filters = [...session.subscriptions.values()].map((s) => s.topicFilter);
  // Held copies carry the topic as the client sees it; the filters are mounted.
  const mount = session.mountPoint;
  broker.dropUnwanted(session, (topic) => filters.some((f) => topicMatches(f, mount + topic)));
  broker.persistSession(session);
}

/** What the steps of one CONNECT learn, in order. */
interface Connect {
  readonly broker: HandlerContext;
  readonly client: Client;
  readonly packet: IConnectPacket;
  readonly version: 3 | 4 | 5;
  readonly v5: boolean;
  readonly props: NonNullable<IConnectPacket['properties']>;
  clientId: string;
  assignedId: boolean;
  key: string;
  mountPoint: string;
  will: Message | undefined;
  session: Session | undefined;
  sessionPresent: boolean;
  expiry: number;
  requestedExpiry: number;
}

/** One step of a CONNECT: true to go on; false when it ended the CONNECT (refused, or the connection closed). */
type ConnectStep = (c: Connect) => boolean | Promise<boolean>;

function refuseConnect(c: Connect, reasonCode: number, reasonString: string): false {
  refuse(c.client, reasonCode, reasonString);
  return false;
}

function accepting(c: Connect): boolean {
  if (c.broker.isClosing) return refuseConnect(c, ReasonCode.ServerUnavailable, 'server shutting down');
  return true;
}

function checkProperties(c: Connect): boolean {
  // v5 §3.1.2.11: a Receive Maximum or Maximum Packet Size of 0 is a protocol error.
  if (c.props.receiveMaximum === 0 || c.props.maximumPacketSize === 0) return refuseConnect(c, ReasonCode.ProtocolError, 'zero limit in CONNECT');
  // Enhanced authentication is not offered [MQTT-4.12.0-1]; v5 §3.1.2.11.9 allows 0x8C.
  if (c.props.authenticationMethod !== undefined) return refuseConnect(c, ReasonCode.BadAuthenticationMethod, 'enhanced authentication is not supported');
  return true;
}

function checkCapacity(c: Connect): boolean {
  if (c.broker.connectedCount() >= c.broker.limits.maxConnections) return refuseConnect(c, ReasonCode.ServerBusy, 'too many connections');
  return true;
}

function resolveClientId(c: Connect): boolean {
  const { version, packet } = c;
  if (c.clientId.length === 0) {
    // [MQTT-3.1.3-6]/[MQTT-3.1.3-7] (3.1.1): an empty id needs Clean Session = 1 [MQTT-3.1.3-8];
    // v5 [MQTT-3.1.3-6]: the server assigns one and returns it [MQTT-3.2.2-16]. MQTT 3.1 requires an id.
    if (version === 3 || (version === 4 && packet.clean === false)) return refuseConnect(c, ReasonCode.ClientIdentifierNotValid, 'empty client id');
    c.clientId = `auto-${randomBytes(12).toString('hex')}`;
    c.assignedId = true;
  }
  if (Buffer.byteLength(c.clientId) > c.broker.limits.maxClientIdLength || (version === 3 && c.clientId.length > 23)) {
    return refuseConnect(c, ReasonCode.ClientIdentifierNotValid, 'client id too long');
  }
  return true;
}

function checkWillTopic(c: Connect): boolean {
  // v5 §3.1.3.3: the Will Topic must be a valid topic name.
  if (c.packet.will !== undefined && topicNameError(c.packet.will.topic, c.broker.limits) !== undefined) {
    return refuseConnect(c, ReasonCode.TopicNameInvalid, 'invalid will topic');
  }
  return true;
}

async function authenticateClient(c: Connect): Promise<boolean> {
  const { client } = c;
  const auth = await authenticate(c.broker, client, c.packet, c.clientId);
  if (client.closed) return false;
  if (!auth.ok) return refuseConnect(c, auth.reasonCode, auth.reasonString ?? 'not authorized');
  client.user = auth.user;
  client.username = c.packet.username;
  client.id = c.clientId;
  // U+0000 separates session keys, and a mount point must not change what a filter means: a hook naming
  // such values is a bug, refused like a failing hook.
  if (auth.namespace?.includes('\u0000') === true) return refuseConnect(c, ReasonCode.ServerUnavailable, 'authentication failed');
  const mount = auth.mountPoint ?? '';
  if (mountPointError(mount, maxMountPointLength) !== undefined) return refuseConnect(c, ReasonCode.ServerUnavailable, 'authentication failed');
  client.namespace = auth.namespace ?? '';
  client.mountPoint = mount;
  c.mountPoint = mount;
  c.key = sessionKey(client.namespace, c.clientId);
  return true;
}

function buildWill(c: Connect): boolean {
  const w = c.packet.will;
  if (w === undefined) return true;
  const mount = c.mountPoint;
  // The mounted will topic must still fit the topic limits (length, levels).
  if (mount !== '' && topicNameError(mount + w.topic, c.broker.limits) !== undefined)
    return refuseConnect(c, ReasonCode.TopicNameInvalid, 'invalid will topic');
  const { willDelayInterval: _delay, ...forwarded } = w.properties ?? {};
  c.will = Message.withExpiry(
    {
      topic: mount + w.topic,
      payload: Buffer.isBuffer(w.payload) ? w.payload : Buffer.from(w.payload),
      qos: w.qos ?? 0,
      retain: w.retain ?? false,
      properties: Object.keys(forwarded).length > 0 ? forwarded : undefined,
      origin: c.key,
    },
    c.broker.clock.now(),
  );
  return true;
}

async function authorizeWill(c: Connect): Promise<boolean> {
  const will = c.will;
  if (will === undefined) return true;
  // The hook sees the will topic as the client named it.
  const allowed = await c.broker.mayPublish(c.client, {
    topic: c.packet.will?.topic ?? '',
    payload: will.payload,
    qos: will.qos,
    retain: will.retain,
    properties: will.properties,
  });
  if (c.client.closed) return false;
  if (!allowed) return refuseConnect(c, ReasonCode.NotAuthorized, 'will topic not authorized');
  return true;
}

function checkSessionQuota(c: Connect): boolean {
  // Every session costs memory (and a queue of up to maxQueuedMessages): one principal inventing client ids
  // (or asking v5 for assigned ones with a session expiry) must not grow them without bound.
  const perNamespace = c.broker.limits.maxSessionsPerPrincipal;
  if (perNamespace > 0 && c.broker.findSession(c.key) === undefined && c.broker.sessionCount(c.client.namespace) >= perNamespace) {
    return refuseConnect(c, ReasonCode.QuotaExceeded, `at most ${perNamespace} sessions per principal`);
  }
  return true;
}

function takeOver(c: Connect): boolean {
  // [MQTT-3.1.4-3] a second connection with the same id takes the session over; the old one
  // gets DISCONNECT 0x8E (v5) and is closed [MQTT-3.1.4-2]. Only within one namespace: the same id used by
  // another principal is another session (DESIGN.md invariant 8).
  c.broker.connectedClient(c.key)?.terminate(ReasonCode.SessionTakenOver, 'session taken over');
  return true;
}

function attachSession(c: Connect): boolean {
  const { broker } = c;
  const cleanStart = c.packet.clean !== false;
  let session = broker.findSession(c.key);
  // [MQTT-3.1.2-4] (v5) / [MQTT-3.1.2-6] (3.1.1): Clean Start discards an existing session. So does a new
  // mount point: the stored subscriptions and held copies belong to the old one (ADR 0005).
  if (session !== undefined && (cleanStart || session.mountPoint !== c.mountPoint)) {
    broker.destroySession(session);
    session = undefined;
  }
  // [MQTT-3.2.2-2]/[MQTT-3.2.2-3] Session Present tells whether the session was resumed.
  c.sessionPresent = session !== undefined;
  session ??= broker.createSession(c.clientId, c.client.namespace);
  session.mountPoint = c.mountPoint;
  broker.resumeSession(session);
  c.session = session;
  return true;
}

async function reauthorizeSession(c: Connect): Promise<boolean> {
  // Permissions may have changed while the session waited: its subscriptions are authorized again.
  if (!c.sessionPresent || c.session === undefined) return true;
  await reauthorize(c.broker, c.client, c.session);
  return !c.client.closed;
}

function negotiate(c: Connect): boolean {
  const { client, v5, props } = c;
  const limits = c.broker.limits;
  const session = c.session;
  if (session === undefined) return false;
  const cleanStart = c.packet.clean !== false;
  let expiry = v5 ? (props.sessionExpiryInterval ?? 0) : cleanStart ? 0 : neverExpires;
  c.requestedExpiry = expiry;
  if (expiry > limits.maxSessionExpirySec) expiry = limits.maxSessionExpirySec;
  c.expiry = expiry;
  session.expiryIntervalSec = expiry;
  client.connectSessionExpiry = expiry;
  session.client = client;
  client.session = session;
  client.sendWindow = Math.min(props.receiveMaximum ?? 65_535, limits.receiveMaximum);
  if (props.maximumPacketSize !== undefined) client.maxOutgoingPacketSize = props.maximumPacketSize;
  // Our own table size caps the client's: the spec lets the server use fewer aliases, and memory stays bounded.
  if (v5) client.outgoingAliasMaximum = Math.min(props.topicAliasMaximum ?? 0, limits.topicAliasMaximum);
  if (c.will !== undefined) {
    client.will = { message: c.will, delaySec: c.packet.will?.properties?.willDelayInterval ?? 0 };
    session.will = client.will;
  }
  return true;
}

function acknowledge(c: Connect): boolean {
  const { client, v5, version } = c;
  const limits = c.broker.limits;
  let keepAlive = c.packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (v5 && limits.maxKeepAliveSec > 0 && (keepAlive === 0 || keepAlive > limits.maxKeepAliveSec)) {
    // [MQTT-3.2.2-21] the client must use the Server Keep Alive sent in CONNACK.
    keepAlive = limits.maxKeepAliveSec;
    serverKeepAlive = keepAlive;
  }
  const sessionPresent = c.sessionPresent;
  const connack: IConnackPacket = v5 ? { cmd: 'connack', sessionPresent, reasonCode: ReasonCode.Success } : { cmd: 'connack', sessionPresent, returnCode: 0 };
  if (v5) {
    const p: ConnackProperties = {
      receiveMaximum: limits.receiveMaximum,
      maximumPacketSize: limits.maxPacketBytes,
      topicAliasMaximum: limits.topicAliasMaximum,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    };
    if (c.assignedId) p.assignedClientIdentifier = c.clientId;
    if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive;
    if (c.expiry !== c.requestedExpiry) p.sessionExpiryInterval = c.expiry;
    connack.properties = p;
  }
  client.write(encodePacket(connack, version));
  client.onConnected(keepAlive);
  c.broker.onClientConnected(client);
  return true;
}

function resumeDelivery(c: Connect): boolean {
  // [MQTT-4.4.0-1] resend unacknowledged PUBLISH and PUBREL, then what was queued meanwhile.
  c.client.resendInflight();
  c.client.pump();
  return true;
}

/**
 * CONNECT as an explicit list of steps (aedes' connectActions), run in order; any step may end the CONNECT,
 * refusing it with a CONNACK code, and a step that waited (a hook) ends it when the connection closed meanwhile.
 */
export const connectActions: readonly ConnectStep[] = [
  accepting,
  checkProperties,
  checkCapacity,
  resolveClientId,
  checkWillTopic,
  authenticateClient,
  buildWill,
  authorizeWill,
  checkSessionQuota,
  takeOver,
  attachSession,
  reauthorizeSession,
  negotiate,
  acknowledge,
  resumeDelivery,
];

export async function handleConnect(broker: HandlerContext, client: Client, packet: IConnectPacket): Promise<void> {
  await broker.ready;
  const version = packet.protocolVersion ?? 4;
  client.protocolVersion = version;
  const props = packet.properties ?? {};
  if (props.requestProblemInformation === false) client.problemInformation = false;
  const c: Connect = {
    broker,
    client,
    packet,
    version,
    v5: version === 5,
    props,
    clientId: packet.clientId,
    assignedId: false,
    key: '',
    mountPoint: '',
    will: undefined,
    session: undefined,
    sessionPresent: false,
    expiry: 0,
    requestedExpiry: 0,
  };
  for (const step of connectActions) {
    const result = step(c);
    // Synchronous steps run without an extra turn, as before they were steps.
    const go = result instanceof Promise ? await result : result;
    if (!go) return;
  }
}
