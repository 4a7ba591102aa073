import type { Duplex } from 'node:stream';
import type { IDisconnectPacket, Packet } from 'mqtt-packet';
import { FrameReader, type FrameSink } from './codec/frame-reader';
import { encodeAck, encodeAliasedPublish, encodePacket, encodePlainPublish, encodePublishWithProperties } from './codec/encode';
import type { Message, QoS } from './message';
import type { BrokerLimits, Clock } from './options';
import type { PersistenceWriter } from './persistence/writer';
import { ReasonCode } from './reason-codes';
import type { Outgoing, Session, SessionClient, Will } from './session';

export type { Will } from './session';

/** The broker's running totals (part of BrokerStats). */
export interface Counters {
  messagesIn: number;
  messagesOut: number;
  messagesDropped: number;
  messagesRefused: number;
  bytesIn: number;
  bytesOut: number;
  connectionsTotal: number;
  /** Exceptions contained to one client (each closed that connection); anything above 0 is a bug to report. */
  clientErrors: number;
  /** Persisted retained messages, sessions and queued messages dropped at load because they failed validation. */
  stateDropped: number;
}

/** What a connection needs of the broker: the port it is built on, so client.ts imports no broker code. */
export interface ClientContext {
  readonly limits: Readonly<BrokerLimits>;
  readonly clock: Clock;
  readonly counters: Counters;
  readonly writer: PersistenceWriter;
  /** Hands a decoded packet to its handler; a returned promise holds later packets until it settles. */
  dispatch(client: Client, packet: Packet): Promise<void> | undefined;
  discard(outgoing: Outgoing): void;
  persistSession(session: Session): void;
  onClientError(client: Client, error: unknown): void;
  onClientClosed(client: Client): void;
}

export interface ConnectionMeta {
  remoteAddress?: string;
  transport?: 'tcp' | 'tls' | 'ws';
}

export interface DisconnectReason {
  /** v5 reason code: the client's DISCONNECT code, or why the broker closed the connection. */
  reasonCode: number;
  message: string;
  /** True when the client sent DISCONNECT itself. */
  byClient: boolean;
}

export const pauseBusy = 1;
export const pauseWrites = 2;
export const pauseHooks = 4;
/** The broker is draining for shutdown: no new packets are read from connected clients. */
export const pauseDrain = 8;

function uncork(client: Client): void {
  client.corked = false;
  client.stream.uncork();
}

/**
 * One network connection. Public fields describe the client for hooks and events; the rest
 * is the connection's machinery (framing, batched writes, back-pressure, keep-alive), used by
 * the packet handlers.
 */
export class Client implements FrameSink, SessionClient {
  id = '';
  /** Whose session this is, from the authenticate hook ('' by default): sessions are keyed by namespace + id. */
  namespace = '';
  username: string | undefined;
  /** Whatever the authenticate hook returned as `user`. */
  user: unknown;
  /** The prefix of this client's topics in the broker's topic space, from the authenticate hook ('' for none; ADR 0005). */
  mountPoint = '';
  protocolVersion: 3 | 4 | 5 = 4;
  readonly remoteAddress: string | undefined;
  readonly transport: 'tcp' | 'tls' | 'ws' | undefined;
  keepAliveSec = 0;
  connected = false;
  closed = false;
  session!: Session;
  /** Outgoing QoS 1/2 window: the client's Receive Maximum capped by ours [MQTT-3.3.4-9]. */
  sendWindow = 65_535;
  /** The client's v5 Maximum Packet Size; larger packets are not sent [MQTT-3.1.2-24]. */
  maxOutgoingPacketSize = Number.POSITIVE_INFINITY;
  /** v5 Request Problem Information [MQTT-3.1.2-29]. */
  problemInformation = true;
  readonly topicAliases = new Map<number, string>();
  /**
   * The client's v5 Topic Alias Maximum: the broker assigns aliases to the topics it sends, up
   * to this many, first come first served, then sends full topic names [MQTT-3.1.2-26]
   * [MQTT-3.3.2-11]. 0 (absent, 3.1.1): no aliases [MQTT-3.1.2-27]. The mapping lives as long
   * as this connection (v5 §3.3.2.3.4), as this object does.
   */
  outgoingAliasMaximum = 0;
  private readonly outgoingAliases = new Map<string, number>();
  will: Will | undefined;
  /** Session Expiry Interval as sent in CONNECT; 0 forbids raising it at DISCONNECT (v5 §3.14.2.2.2). */
  connectSessionExpiry = 0;
  disconnectReason: DisconnectReason | undefined;
  /** QoS 1/2 PUBLISH packets waiting for the onPublish hook, counted against Receive Maximum. */
  pendingInbound = 0;
  /** Acknowledgements waiting for a persistence write, sent in order. */
  private ackChain: Promise<unknown> = Promise.resolve();
  /** Acknowledgements waiting for a persistence write. */
  pendingAcks = 0;
  pendingHookCalls = 0;
  corked = false;
  readonly stream: Duplex;
  readonly reader: FrameReader;
  readonly ctx: ClientContext;
  private blocked = false;
  private faulted = false;
  private pauses = 0;
  private busy = false;
  private readonly held: Packet[] = [];
  private lastActivity: number;
  private keepAliveTimer: unknown;
  private connectTimer: unknown;

  constructor(broker: ClientContext, stream: Duplex, meta: ConnectionMeta) {
    this.ctx = broker;
    this.stream = stream;
    this.remoteAddress = meta.remoteAddress;
    this.transport = meta.transport;
    this.reader = new FrameReader(this, broker.limits.maxPacketBytes);
    this.lastActivity = broker.clock.now();
    stream.on('data', (chunk: Buffer) => {
      broker.counters.bytesIn += chunk.length;
      this.lastActivity = broker.clock.now();
      try {
        this.reader.push(chunk);
      } catch (error) {
        this.fault(error);
      }
    });
    stream.on('drain', () => {
      this.onDrain();
    });
    stream.on('error', (error: Error) => {
      this.shutdown({ reasonCode: ReasonCode.UnspecifiedError, message: error.message, byClient: false });
    });
    stream.on('end', () => {
      this.shutdown({ reasonCode: ReasonCode.UnspecifiedError, message: 'connection closed by the client', byClient: false });
    });
    stream.on('close', () => {
      this.shutdown({ reasonCode: ReasonCode.UnspecifiedError, message: 'connection lost', byClient: false });
    });
    // [MQTT-3.1.0-1] the first packet must be CONNECT, within a time limit (MQTT §3.1.4).
    this.connectTimer = broker.clock.setTimeout(() => {
      if (!this.connected) this.shutdown({ reasonCode: ReasonCode.MaximumConnectTime, message: 'no CONNECT in time', byClient: false });
    }, broker.limits.connectTimeoutMs);
  }

  onPacket(packet: Packet): void {
    if (this.closed) return;
    if (this.busy) {
      this.held.push(packet);
      return;
    }
    let pending: Promise<void> | undefined;
    try {
      pending = this.ctx.dispatch(this, packet);
    } catch (error) {
      this.fault(error);
      return;
    }
    if (pending !== undefined) {
      // Handlers that wait (CONNECT, SUBSCRIBE with an async hook) keep later packets in order.
      this.busy = true;
      this.pauseReading(pauseBusy);
      pending
        .then(
          () => {
            this.busy = false;
            this.releaseHeld();
          },
          (error: unknown) => {
            this.busy = false;
            this.fault(error);
          },
        )
        .catch((error: unknown) => {
          this.fault(error);
        });
    }
  }

  /**
   * The fault boundary of this connection (DESIGN.md invariant 9): an exception anywhere in its
   * packet handling (decoding, a handler, a hook, encoding, writing, or delivering a message to it)
   * ends this one connection with 0x83, is counted and reported, and never reaches the process.
   */
  fault(error: unknown): void {
    this.ctx.onClientError(this, error);
    if (this.closed) return;
    this.faulted = true;
    try {
      if (!this.connected && this.reader.protocolVersion === 5) this.writeConnack(ReasonCode.ImplementationSpecificError);
    } catch {
      // The connection closes below either way.
    }
    this.terminate(ReasonCode.ImplementationSpecificError, 'internal error');
  }

  private writeConnack(reasonCode: number): void {
    this.write(Buffer.from([0x20, 0x03, 0x00, reasonCode, 0x00]));
  }

  private releaseHeld(): void {
    while (this.held.length > 0 && !this.busy && !this.closed) {
      const packet = this.held.shift();
      if (packet !== undefined) this.onPacket(packet);
    }
    if (!this.busy) this.resumeReading(pauseBusy);
  }

  /** Stops reading the socket for one reason (flag); reading resumes when no reason is left. */
  pauseReading(flag: number): void {
    if (this.pauses === 0) this.stream.pause();
    this.pauses |= flag;
  }

  resumeReading(flag: number): void {
    if ((this.pauses & flag) === 0) return;
    this.pauses &= ~flag;
    if (this.pauses === 0 && !this.closed) this.stream.resume();
  }

  onFrameError(reasonCode: number, message: string, inConnect: boolean): void {
    if (reasonCode === ReasonCode.UnsupportedProtocolVersion && !this.connected) {
      // [MQTT-3.1.2-2] answer an unknown level with the 3.1.1 return code 1, then close.
      this.write(Buffer.from([0x20, 0x02, 0x00, 0x01]));
    } else if (inConnect && !this.connected && this.reader.protocolVersion === 5) {
      // [MQTT-4.13.1-1] an error in a v5 CONNECT may be answered with CONNACK and its reason code (0x81, 0x82).
      this.writeConnack(reasonCode);
    }
    this.terminate(reasonCode, message);
  }

  /** Closes the connection from the broker side, with a v5 DISCONNECT when connected [MQTT-4.13.2-1]. */
  terminate(reasonCode: number, message: string): void {
    if (this.closed) return;
    if (this.connected && this.protocolVersion === 5) {
      const packet: IDisconnectPacket = { cmd: 'disconnect', reasonCode };
      // [MQTT-3.1.2-29] allows a Reason String on DISCONNECT whatever Request Problem Information says;
      // the broker still leaves it out when the client asked for no problem information.
      if (this.problemInformation && reasonCode >= 0x80) packet.properties = { reasonString: message };
      try {
        this.write(encodePacket(packet, 5));
      } catch (error) {
        // Closing after a fault: that one was counted; the failing DISCONNECT is the same story.
        if (!this.faulted) this.ctx.onClientError(this, error);
      }
    }
    this.shutdown({ reasonCode, message, byClient: false });
  }

  /** Disconnects the client (v5 DISCONNECT with the reason code; 3.1.1 just closes). Its will is published. */
  disconnect(reasonCode: number = ReasonCode.AdministrativeAction, reasonString = 'disconnected by the server'): void {
    this.terminate(reasonCode, reasonString);
  }

  close(): void {
    this.terminate(ReasonCode.AdministrativeAction, 'closed by the server');
  }

  /**
   * Sends an acknowledgement once what it vouches for is stored (`durable`: routing or the session recorded
   * something), keeping this client's acknowledgements in order. A failed write closes the connection
   * unacknowledged, so nothing is acknowledged that was not stored.
   */
  acknowledgeWhenStored(durable: boolean, send: () => void): void {
    if (!durable && this.pendingAcks === 0) {
      send();
      return;
    }
    this.pendingAcks++;
    const stored = durable ? this.ctx.writer.flushed() : undefined;
    this.ackChain = Promise.all([this.ackChain, stored]).then(
      () => {
        this.pendingAcks--;
        if (!this.closed) send();
      },
      () => {
        this.pendingAcks--;
        this.terminate(ReasonCode.UnspecifiedError, 'storing the message failed');
      },
    );
  }

  /** Forgets the will of this connection (DISCONNECT 0x00 [MQTT-3.1.2-10], or a revoked principal). */
  discardWill(): void {
    this.will = undefined;
    const session = this.connected ? this.session : undefined;
    if (session?.client === this && session.will !== undefined) {
      session.will = undefined;
      this.ctx.persistSession(session);
    }
  }

  shutdown(reason: DisconnectReason): void {
    if (this.closed) return;
    this.closed = true;
    this.disconnectReason = reason;
    this.ctx.clock.clearTimeout(this.connectTimer);
    this.ctx.clock.clearTimeout(this.keepAliveTimer);
    const stream = this.stream;
    try {
      if (this.corked) uncork(this);
      if (!stream.destroyed) {
        stream.once('finish', () => stream.destroy());
        stream.end();
      }
    } catch {
      stream.destroy();
    }
    try {
      this.ctx.onClientClosed(this);
    } catch (error) {
      // Closing runs from socket events and timers: a throwing listener or will delivery is counted, not thrown.
      this.ctx.onClientError(this, error);
    }
  }

  onConnected(keepAliveSec: number): void {
    this.connected = true;
    this.ctx.clock.clearTimeout(this.connectTimer);
    this.keepAliveSec = keepAliveSec;
    if (keepAliveSec > 0) this.scheduleKeepAlive(keepAliveSec * 1500);
  }

  // [MQTT-3.1.2-22] (v5) / [MQTT-3.1.2-24] (3.1.1): no packet within 1.5 x Keep Alive closes
  // the connection. One timer per client, re-armed only when it fires, not per packet.
  private scheduleKeepAlive(ms: number): void {
    this.keepAliveTimer = this.ctx.clock.setTimeout(() => {
      const idle = this.ctx.clock.now() - this.lastActivity;
      const limit = this.keepAliveSec * 1500;
      // While the broker itself is not reading, silence is not the client's fault.
      if (idle >= limit && this.pauses === 0) this.terminate(ReasonCode.KeepAliveTimeout, 'keep-alive timeout');
      else this.scheduleKeepAlive(this.pauses !== 0 ? limit : limit - idle);
    }, ms);
  }

  write(buf: Buffer): void {
    if (this.stream.destroyed || this.stream.writableEnded) return;
    if (!this.corked) {
      // Batch all packets written in this tick into one writev.
      this.corked = true;
      this.stream.cork();
      process.nextTick(uncork, this);
    }
    this.ctx.counters.bytesOut += buf.length;
    if (!this.stream.write(buf)) {
      const buffered = this.stream.writableLength;
      const cap = this.ctx.limits.maxSocketBufferBytes;
      if (buffered >= cap) this.blocked = true;
      // A client that sends but never reads must not make its replies pile up: stop reading it.
      if (buffered >= 2 * cap) this.pauseReading(pauseWrites);
    }
  }

  private onDrain(): void {
    this.blocked = false;
    this.resumeReading(pauseWrites);
    this.pump();
  }

  /** Delivers one application message to this connected client, queueing it when it cannot go now. */
  sendPublish(o: Outgoing): void {
    const session = this.session;
    if (this.blocked || session.queue.length > 0 || (o.qos > 0 && session.inflight.size >= this.sendWindow)) {
      const dropped = session.enqueue(o, this.ctx.limits.maxQueuedMessages);
      if (dropped !== undefined) this.ctx.discard(dropped);
      return;
    }
    this.transmit(o, false);
  }

  /** Moves queued messages into the in-flight window and the socket while both have room. */
  pump(): void {
    const session = this.session;
    while (!this.blocked && !this.closed && this.connected) {
      const head = session.queue.peek();
      if (head === undefined || (head.qos > 0 && session.inflight.size >= this.sendWindow)) return;
      session.shiftQueue();
      this.transmit(head, false);
    }
  }

  /** Resends the in-flight window after a session resumes [MQTT-4.4.0-1], with DUP [MQTT-3.3.1-1]. */
  resendInflight(): void {
    for (const f of [...this.session.inflight.values()]) {
      if (f.state === 'pubrel') this.write(encodeAck('pubrel', f.packetId));
      else this.transmit(f, true);
    }
  }

  /** An outgoing delivery ended (PUBACK, PUBCOMP, PUBREC with an error): the id is free and the window opens. */
  completeDelivery(o: Outgoing): void {
    this.session.inflight.delete(o.packetId);
    this.ctx.writer.deleteOutgoing(o);
    this.pump();
  }

  /** A message that will not be sent to this client after all: out of the window, counted, deleted from the store. */
  private drop(o: Outgoing): void {
    if (o.packetId !== 0) this.session.inflight.delete(o.packetId);
    this.ctx.discard(o);
  }

  transmit(o: Outgoing, dup: boolean): void {
    const counters = this.ctx.counters;
    const message = o.message;
    const qos = o.qos;
    const now = message.expiresAt === 0 ? 0 : this.ctx.clock.now();
    if (message.expiresAt !== 0 && now >= message.expiresAt) {
      // [MQTT-3.3.2-5] an expired message is not delivered.
      this.drop(o);
      return;
    }
    if (qos > 0 && o.packetId === 0) {
      o.packetId = this.session.allocatePacketId();
      this.session.inflight.set(o.packetId, o);
      this.ctx.writer.inflightChanged(o);
    }
    const id = o.packetId;
    // An alias is taken for a new topic only once its PUBLISH is written.
    let alias = 0;
    let newAlias = false;
    if (this.outgoingAliasMaximum > 0) {
      alias = this.outgoingAliases.get(message.topic) ?? 0;
      if (alias === 0 && this.outgoingAliases.size < this.outgoingAliasMaximum) {
        alias = this.outgoingAliases.size + 1;
        newAlias = true;
      }
    }
    let buf: Buffer;
    try {
      buf = this.encodePublish(message, qos, o.retain, o.subscriptionIds, dup, id, now, alias, newAlias);
    } catch (error) {
      // Not retried on every reconnect: the message is dropped for this client, and the fault closes it.
      this.drop(o);
      throw error;
    }
    if (buf.length > this.maxOutgoingPacketSize) {
      // [MQTT-3.1.2-25] too large for the client: discard as if it had been delivered.
      this.drop(o);
      return;
    }
    if (newAlias) this.outgoingAliases.set(message.topic, alias);
    counters.messagesOut++;
    this.write(buf);
  }

  private encodePublish(
    message: Message,
    qos: QoS,
    retain: boolean,
    subscriptionIds: number[] | undefined,
    dup: boolean,
    id: number,
    now: number,
    alias: number,
    newAlias: boolean,
  ): Buffer {
    const v5 = this.protocolVersion === 5;
    if (v5 && (message.properties !== undefined || subscriptionIds !== undefined || message.expiresAt !== 0)) {
      const properties = { ...message.properties } as NonNullable<Parameters<typeof encodePublishWithProperties>[0]['properties']>;
      // [MQTT-3.3.2-6] forward the expiry interval minus the time spent in the broker.
      if (message.expiresAt !== 0) properties.messageExpiryInterval = Math.max(1, Math.ceil((message.expiresAt - now) / 1000));
      // [MQTT-3.3.4-3] the Subscription Identifiers of the matching subscriptions.
      if (subscriptionIds !== undefined) properties.subscriptionIdentifier = subscriptionIds.length === 1 ? (subscriptionIds[0] ?? 0) : subscriptionIds;
      if (alias !== 0) properties.topicAlias = alias;
      const topic = alias === 0 || newAlias ? message.topic : '';
      return encodePublishWithProperties({ cmd: 'publish', topic, payload: message.payload, qos, retain, dup, messageId: id, properties });
    }
    if (alias !== 0) return encodeAliasedPublish(message, qos, retain, dup, id, alias, newAlias);
    return encodePlainPublish(message, qos, retain, dup, id, v5);
  }
}
