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
      const r = await hook(client, { topic: unmountFilter(session.mountPoint, sub.filter), qos: sub.qos, noLocal: sub.noLocal, retainAsPublished: sub.retainAsPublished, retainHandling: sub.retainHandling, shareGroup: sub.shareGroup });
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

/** Read through a call so TypeScript does not keep a narrowing across `await`. */
function isClosed(client: Client): boolean {
  return client.closed;
}

export async function handleConnect(broker: HandlerContext, client: Client, packet: IConnectPacket): Promise<void> {
  await broker.ready;
  const version = packet.protocolVersion ?? 4;
  client.protocolVersion = version;
  const v5 = version === 5;
  const props = packet.properties ?? {};
  const limits = broker.limits;
  if (props.requestProblemInformation === false) client.problemInformation = false;
  if (broker.isClosing) {
    refuse(client, ReasonCode.ServerUnavailable, 'server shutting down');
    return;
  }
  // v5 §3.1.2.11: a Receive Maximum or Maximum Packet Size of 0 is a protocol error.
  if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) {
    refuse(client, ReasonCode.ProtocolError, 'zero limit in CONNECT');
    return;
  }
  // Enhanced authentication is not offered [MQTT-4.12.0-1]; v5 §3.1.2.11.9 allows 0x8C.
  if (props.authenticationMethod !== undefined) {
    refuse(client, ReasonCode.BadAuthenticationMethod, 'enhanced authentication is not supported');
    return;
  }
  if (broker.connectedCount() >= limits.maxConnections) {
    refuse(client, ReasonCode.ServerBusy, 'too many connections');
    return;
  }

  let clientId = packet.clientId;
  let assigned = false;
  if (clientId.length === 0) {
    // [MQTT-3.1.3-6]/[MQTT-3.1.3-7] (3.1.1): an empty id needs Clean Session = 1 [MQTT-3.1.3-8];
    // v5 [MQTT-3.1.3-6]: the server assigns one and returns it [MQTT-3.2.2-16]. MQTT 3.1 requires an id.
    if (version === 3 || (version === 4 && packet.clean === false)) {
      refuse(client, ReasonCode.ClientIdentifierNotValid, 'empty client id');
      return;
    }
    clientId = `auto-${randomBytes(12).toString('hex')}`;
    assigned = true;
  }
  if (Buffer.byteLength(clientId) > limits.maxClientIdLength || (version === 3 && clientId.length > 23)) {
    refuse(client, ReasonCode.ClientIdentifierNotValid, 'client id too long');
    return;
  }

  // v5 §3.1.3.3: the Will Topic must be a valid topic name.
  if (packet.will !== undefined && topicNameError(packet.will.topic, limits) !== undefined) {
    refuse(client, ReasonCode.TopicNameInvalid, 'invalid will topic');
    return;
  }

  const auth = await authenticate(broker, client, packet, clientId);
  if (client.closed) return;
  if (!auth.ok) {
    refuse(client, auth.reasonCode, auth.reasonString ?? 'not authorized');
    return;
  }
  client.user = auth.user;
  client.username = packet.username;
  client.id = clientId;
  if (auth.namespace?.includes('\u0000') === true) {
    // The separator of session keys: a hook naming such a namespace is a bug, refused like a failing hook.
    refuse(client, ReasonCode.ServerUnavailable, 'authentication failed');
    return;
  }
  client.namespace = auth.namespace ?? '';
  const mount = auth.mountPoint ?? '';
  if (mountPointError(mount, maxMountPointLength) !== undefined) {
    // Like a namespace with U+0000: a hook bug, refused like a failing hook.
    refuse(client, ReasonCode.ServerUnavailable, 'authentication failed');
    return;
  }
  client.mountPoint = mount;
  const key = sessionKey(client.namespace, clientId);
  let will: Message | undefined;
  if (packet.will !== undefined) {
    const w = packet.will;
    // The mounted will topic must still fit the topic limits (length, levels).
    if (mount !== '' && topicNameError(mount + w.topic, limits) !== undefined) {
      refuse(client, ReasonCode.TopicNameInvalid, 'invalid will topic');
      return;
    }
    const { willDelayInterval: _delay, ...forwarded } = w.properties ?? {};
    will = Message.withExpiry(
      {
        topic: mount + w.topic,
        payload: Buffer.isBuffer(w.payload) ? w.payload : Buffer.from(w.payload),
        qos: w.qos ?? 0,
        retain: w.retain ?? false,
        properties: Object.keys(forwarded).length > 0 ? forwarded : undefined,
        origin: key,
      },
      broker.clock.now(),
    );
  }
  if (will !== undefined && !(await broker.mayPublish(client, { topic: packet.will?.topic ?? '', payload: will.payload, qos: will.qos, retain: will.retain, properties: will.properties }))) {
    if (isClosed(client)) return;
    refuse(client, ReasonCode.NotAuthorized, 'will topic not authorized');
    return;
  }
  if (isClosed(client)) return;

  // Every session costs memory (and a queue of up to maxQueuedMessages): one principal inventing client ids
  // (or asking v5 for assigned ones with a session expiry) must not grow them without bound.
  const perNamespace = limits.maxSessionsPerNamespace;
  if (perNamespace > 0 && broker.findSession(key) === undefined && broker.sessionCount(client.namespace) >= perNamespace) {
    refuse(client, ReasonCode.QuotaExceeded, `at most ${perNamespace} sessions per principal`);
    return;
  }

  // [MQTT-3.1.4-3] a second connection with the same id takes the session over; the old one
  // gets DISCONNECT 0x8E (v5) and is closed [MQTT-3.1.4-2]. Only within one namespace: the same id used by
  // another principal is another session (DESIGN.md invariant 8).
  broker.connectedClient(key)?.terminate(ReasonCode.SessionTakenOver, 'session taken over');

  const cleanStart = packet.clean !== false;
  let session = broker.findSession(key);
  // [MQTT-3.1.2-4] (v5) / [MQTT-3.1.2-6] (3.1.1): Clean Start discards an existing session. So does a new
  // mount point: the stored subscriptions and held copies belong to the old one (ADR 0005).
  if (session !== undefined && (cleanStart || session.mountPoint !== mount)) {
    broker.destroySession(session);
    session = undefined;
  }
  // [MQTT-3.2.2-2]/[MQTT-3.2.2-3] Session Present tells whether the session was resumed.
  const sessionPresent = session !== undefined;
  session ??= broker.createSession(clientId, client.namespace);
  session.mountPoint = mount;
  broker.resumeSession(session);
  if (sessionPresent) {
    // Permissions may have changed while the session waited: its subscriptions are authorized again.
    await reauthorize(broker, client, session);
    if (isClosed(client)) return;
  }

  let expiry = v5 ? (props.sessionExpiryInterval ?? 0) : cleanStart ? 0 : neverExpires;
  const requestedExpiry = expiry;
  if (expiry > limits.maxSessionExpirySec) expiry = limits.maxSessionExpirySec;
  session.expiryIntervalSec = expiry;
  client.connectSessionExpiry = expiry;
  session.client = client;
  client.session = session;

  let keepAlive = packet.keepalive ?? 0;
  let serverKeepAlive: number | undefined;
  if (v5 && limits.maxKeepAliveSec > 0 && (keepAlive === 0 || keepAlive > limits.maxKeepAliveSec)) {
    // [MQTT-3.2.2-21] the client must use the Server Keep Alive sent in CONNACK.
    keepAlive = limits.maxKeepAliveSec;
    serverKeepAlive = keepAlive;
  }
  client.sendWindow = Math.min(props.receiveMaximum ?? 65_535, limits.receiveMaximum);
  if (props.maximumPacketSize !== undefined) client.maxOutgoingPacketSize = props.maximumPacketSize;
  // Our own table size caps the client's: the spec lets the server use fewer aliases, and memory stays bounded.
  if (v5) client.outgoingAliasMaximum = Math.min(props.topicAliasMaximum ?? 0, limits.topicAliasMaximum);
  if (will !== undefined) {
    client.will = { message: will, delaySec: packet.will?.properties?.willDelayInterval ?? 0 };
    session.will = client.will;
  }

  const connack: IConnackPacket = v5
    ? { cmd: 'connack', sessionPresent, reasonCode: ReasonCode.Success }
    : { cmd: 'connack', sessionPresent, returnCode: 0 };
  if (v5) {
    const p: ConnackProperties = {
      receiveMaximum: limits.receiveMaximum,
      maximumPacketSize: limits.maxPacketSize,
      topicAliasMaximum: limits.topicAliasMaximum,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    };
    if (assigned) p.assignedClientIdentifier = clientId;
    if (serverKeepAlive !== undefined) p.serverKeepAlive = serverKeepAlive;
    if (expiry !== requestedExpiry) p.sessionExpiryInterval = expiry;
    connack.properties = p;
  }
  client.write(encodePacket(connack, version));
  client.onConnected(keepAlive);
  broker.onClientConnected(client);
  // [MQTT-4.4.0-1] resend unacknowledged PUBLISH and PUBREL, then what was queued meanwhile.
  client.resendInflight();
  client.pump();
}
