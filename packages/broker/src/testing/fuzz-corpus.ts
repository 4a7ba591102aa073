import mqttPacket, { type IConnectPacket, type Packet, type UserProperties } from 'mqtt-packet';

/** A small deterministic PRNG (mulberry32): the same seed gives the same fuzz cases on every machine. */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** 0 <= n < max. */
  int(max: number): number {
    return max <= 0 ? 0 : this.next() % max;
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }
}

/** Mixes a run seed and a case index into the seed of one case, so any case can be replayed alone. */
export function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  return (h ^ (h >>> 13)) >>> 0;
}

export interface CorpusOptions {
  /** Topic names used in PUBLISH (a small set, so retained messages and aliases repeat). */
  topics?: readonly string[];
  /** Topic filters used in SUBSCRIBE / UNSUBSCRIBE. */
  filters?: readonly string[];
  /** Client ids are drawn from a pool of this size (collisions exercise takeover). */
  clientIds?: number;
  clientIdPrefix?: string;
  /** CONNECT user name and password (e.g. a device access token); random when undefined and `anonymous` is false. */
  username?: string;
  password?: Buffer;
  /** Payloads in PUBLISH: JSON telemetry besides random bytes. */
  payloads?: readonly string[];
}

export const defaultTopics = ['t', 'a/b', 'a/b/c', 'sensors/1/temp', '$SYS/x', 'v1/devices/me/telemetry', 'v1/devices/me/attributes', 'x/' + 'long'.repeat(20)];
export const defaultFilters = [
  '#',
  '+/+',
  'a/#',
  't',
  'a/+/c',
  '$share/g/a/#',
  '$SYS/#',
  'v1/devices/me/attributes',
  'v1/devices/me/rpc/request/+',
  '+',
  'a/b',
];
const defaultPayloads = ['{"temp":21.5}', '{"ts":1700000000000,"values":{"h":40}}', '[{"a":1},{"b":"x"}]', '', 'not json'];
const reasonCodes = [0x00, 0x04, 0x10, 0x11, 0x80, 0x81, 0x82, 0x83, 0x87, 0x8e, 0x91, 0x92, 0x97, 0x99, 0xff, 0x18, 0x19];

function userProperties(rng: Rng): UserProperties {
  const out: UserProperties = {};
  const n = 1 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const key = rng.pick(['k', 'a', 'trace', 'é', '']);
    const value = rng.pick(['v', '2', 'x'.repeat(rng.int(40)), 'ü']);
    const prev = out[key];
    out[key] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
  }
  return out;
}

/** Builds valid packets for one protocol version with mqtt-packet, to be sent as they are or mutated. */
export class PacketGenerator {
  readonly version: 3 | 4 | 5;
  private readonly rng: Rng;
  private readonly o: Required<Omit<CorpusOptions, 'username' | 'password'>> & Pick<CorpusOptions, 'username' | 'password'>;
  private nextId = 1;

  constructor(rng: Rng, version: 3 | 4 | 5, options: CorpusOptions = {}) {
    this.rng = rng;
    this.version = version;
    this.o = {
      topics: options.topics ?? defaultTopics,
      filters: options.filters ?? defaultFilters,
      clientIds: options.clientIds ?? 8,
      clientIdPrefix: options.clientIdPrefix ?? 'fz',
      payloads: options.payloads ?? defaultPayloads,
      ...(options.username === undefined ? {} : { username: options.username }),
      ...(options.password === undefined ? {} : { password: options.password }),
    };
  }

  private encode(packet: Packet): Buffer {
    return mqttPacket.generate(packet, { protocolVersion: this.version });
  }

  private packetId(): number {
    // Mostly fresh ids, sometimes a repeated one, sometimes the highest.
    if (this.rng.chance(0.1)) return 65_535;
    if (this.rng.chance(0.2)) return 1 + this.rng.int(3);
    this.nextId = this.nextId >= 65_535 ? 1 : this.nextId + 1;
    return this.nextId;
  }

  connect(): Buffer {
    const r = this.rng;
    const v5 = this.version === 5;
    const packet: IConnectPacket = {
      cmd: 'connect',
      protocolId: this.version === 3 ? 'MQIsdp' : 'MQTT',
      protocolVersion: this.version,
      clientId: r.chance(0.1) && this.version !== 3 ? '' : `${this.o.clientIdPrefix}-${r.int(this.o.clientIds)}`,
      clean: !r.chance(0.15),
      keepalive: r.pick([0, 0, 30, 60, 600]),
    };
    // mqtt-packet refuses to encode an empty client id without clean start.
    if (packet.clientId === '') packet.clean = true;
    if (this.o.username !== undefined) packet.username = this.o.username;
    if (this.o.password !== undefined) packet.password = this.o.password;
    if (v5) {
      const p: NonNullable<IConnectPacket['properties']> = {};
      // Short expiries: a long run leaves no pile of sessions behind (each assigned client id is a new one).
      if (r.chance(0.3)) p.sessionExpiryInterval = r.pick([0, 2, 5]);
      if (r.chance(0.3)) p.receiveMaximum = 1 + r.int(20);
      if (r.chance(0.5)) p.topicAliasMaximum = r.int(4);
      if (r.chance(0.2)) p.maximumPacketSize = r.pick([64, 512, 65_536]);
      if (r.chance(0.3)) p.requestProblemInformation = r.chance(0.5);
      if (r.chance(0.1)) p.requestResponseInformation = true;
      if (r.chance(0.2)) p.userProperties = userProperties(r);
      packet.properties = p;
    }
    if (r.chance(0.2)) {
      packet.will = { topic: r.pick(this.o.topics), payload: Buffer.from('gone'), qos: r.int(3) as 0 | 1 | 2, retain: r.chance(0.2) };
      if (v5 && r.chance(0.5)) packet.will.properties = { willDelayInterval: r.int(3), contentType: 'text/plain', userProperties: userProperties(r) };
    }
    return this.encode(packet);
  }

  /** One packet a client may send after CONNECT. */
  packet(): Buffer {
    const r = this.rng;
    const v5 = this.version === 5;
    const kind = r.int(v5 ? 12 : 10);
    switch (kind) {
      case 0:
      case 1:
      case 2: {
        const qos = r.int(3) as 0 | 1 | 2;
        const payload = r.chance(0.6) ? Buffer.from(r.pick(this.o.payloads)) : r.bytes(r.int(64));
        const properties: Record<string, unknown> = {};
        if (v5) {
          if (r.chance(0.5)) properties.userProperties = userProperties(r);
          if (r.chance(0.2)) properties.topicAlias = 1 + r.int(3);
          if (r.chance(0.2)) properties.messageExpiryInterval = r.pick([1, 60]);
          if (r.chance(0.2)) properties.contentType = 'application/json';
          if (r.chance(0.1)) properties.payloadFormatIndicator = r.chance(0.5);
          if (r.chance(0.1)) properties.responseTopic = r.pick(this.o.topics);
          if (r.chance(0.1)) properties.correlationData = r.bytes(4);
        }
        const topic = properties.topicAlias !== undefined && r.chance(0.4) ? '' : r.pick(this.o.topics);
        return this.encode({
          cmd: 'publish',
          topic,
          payload,
          qos,
          retain: r.chance(0.25),
          dup: qos > 0 && r.chance(0.1),
          ...(qos > 0 ? { messageId: this.packetId() } : {}),
          ...(v5 ? { properties } : {}),
        });
      }
      case 3: {
        const n = 1 + r.int(3);
        const subscriptions = Array.from({ length: n }, () => ({
          topic: r.pick(this.o.filters),
          qos: r.int(3) as 0 | 1 | 2,
          ...(v5 ? { nl: r.chance(0.2), rap: r.chance(0.3), rh: r.int(3) } : {}),
        }));
        const properties =
          v5 && r.chance(0.4) ? { subscriptionIdentifier: 1 + r.int(1000), ...(r.chance(0.3) ? { userProperties: userProperties(r) } : {}) } : undefined;
        return this.encode({ cmd: 'subscribe', messageId: this.packetId(), subscriptions, ...(properties === undefined ? {} : { properties }) });
      }
      case 4:
        return this.encode({
          cmd: 'unsubscribe',
          messageId: this.packetId(),
          unsubscriptions: [r.pick(this.o.filters), ...(r.chance(0.3) ? [r.pick(this.o.filters)] : [])],
        });
      case 5:
      case 6: {
        const cmd = r.pick(['puback', 'pubrec', 'pubrel', 'pubcomp'] as const);
        if (!v5 || r.chance(0.5)) return this.encode({ cmd, messageId: this.packetId() });
        const properties = r.chance(0.5) ? { reasonString: 'why', userProperties: userProperties(r) } : undefined;
        const reasonCode = cmd === 'pubrel' || cmd === 'pubcomp' ? r.pick([0, 0x92]) : r.pick([0, 0x10, 0x80, 0x87, 0x97]);
        return this.encode({ cmd, messageId: this.packetId(), reasonCode, ...(properties === undefined ? {} : { properties }) });
      }
      case 7:
      case 8:
        return this.encode({ cmd: 'pingreq' });
      case 9: {
        if (!v5) return this.encode({ cmd: 'disconnect' });
        const properties = r.chance(0.5) ? { sessionExpiryInterval: r.int(2) * 10, reasonString: 'bye', userProperties: userProperties(r) } : undefined;
        return this.encode({ cmd: 'disconnect', reasonCode: r.pick([0, 4, 0x80]), ...(properties === undefined ? {} : { properties }) });
      }
      case 10:
        return this.encode({ cmd: 'auth', reasonCode: r.pick([0, 0x18, 0x19]), properties: { authenticationMethod: 'SCRAM', authenticationData: r.bytes(8) } });
      default:
        // A raw reason code the generator does not know to be valid, to reach the decoder's checks.
        return this.encode({ cmd: 'puback', messageId: this.packetId(), reasonCode: r.pick(reasonCodes) });
    }
  }
}

const interesting = [0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x02, 0x40];

/** Offsets where packets start in a buffer of well-formed packets (so length fields can be corrupted). */
function packetStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  let pos = 0;
  while (pos + 1 < buf.length) {
    starts.push(pos);
    let length = 0;
    let mul = 1;
    let i = pos + 1;
    for (; i < buf.length && i < pos + 5; i++) {
      const b = buf[i] ?? 0;
      length += (b & 0x7f) * mul;
      mul *= 128;
      if (b < 0x80) break;
    }
    pos = i + 1 + length;
  }
  return starts;
}

/**
 * Mutates a byte sequence: bit flips, byte insertions and deletions, truncation, interesting
 * values, corrupted Remaining Length fields, packets cut short with consistent framing, and
 * valid packets spliced in at random offsets.
 */
export function mutate(rng: Rng, input: Buffer, gen: PacketGenerator, count = 1 + rng.int(4)): Buffer {
  let buf = input;
  for (let m = 0; m < count && buf.length > 0; m++) {
    const at = rng.int(buf.length);
    switch (rng.int(9)) {
      case 0: {
        buf = Buffer.from(buf);
        buf[at] = (buf[at] ?? 0) ^ (1 << rng.int(8));
        break;
      }
      case 1:
        buf = Buffer.concat([buf.subarray(0, at), rng.bytes(1 + rng.int(4)), buf.subarray(at)]);
        break;
      case 2:
        buf = Buffer.concat([buf.subarray(0, at), buf.subarray(Math.min(buf.length, at + 1 + rng.int(4)))]);
        break;
      case 3:
        buf = buf.subarray(0, at);
        break;
      case 4: {
        buf = Buffer.from(buf);
        buf[at] = rng.pick(interesting);
        break;
      }
      case 5: {
        // A Remaining Length (or a 2-byte length inside the packet) set to a small or large value.
        const starts = packetStarts(buf);
        const start = rng.pick(starts.length > 0 ? starts : [0]);
        buf = Buffer.from(buf);
        if (rng.chance(0.5) && start + 1 < buf.length) buf[start + 1] = rng.pick([0, 1, 2, 3, 0x7f, rng.int(128)]);
        else if (at + 1 < buf.length) buf.writeUInt16BE(rng.pick([0, 1, 0xffff, rng.int(0x10000)]), at);
        break;
      }
      case 6:
        buf = Buffer.concat([buf.subarray(0, at), gen.packet(), buf.subarray(at)]);
        break;
      case 7: {
        // Cut a packet short but keep the framing right (a shorter Remaining Length and body),
        // so the packets after it still parse: short acks, missing fields, empty properties.
        const starts = packetStarts(buf).filter((p) => (buf[p + 1] ?? 0x80) < 0x80 && (buf[p + 1] ?? 0) > 0);
        if (starts.length === 0) break;
        const start = rng.pick(starts);
        const length = buf[start + 1] ?? 0;
        const keep = rng.chance(0.4) ? 0 : rng.int(length);
        buf = Buffer.concat([buf.subarray(0, start + 1), Buffer.from([keep]), buf.subarray(start + 2, start + 2 + keep), buf.subarray(start + 2 + length)]);
        break;
      }
      default: {
        // Repeat a slice, as a duplicated property or packet would.
        const len = 1 + rng.int(Math.min(16, buf.length - at));
        buf = Buffer.concat([buf.subarray(0, at + len), buf.subarray(at, at + len), buf.subarray(at + len)]);
        break;
      }
    }
  }
  return buf;
}
