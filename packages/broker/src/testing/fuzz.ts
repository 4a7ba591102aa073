import type { Duplex } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { caseSeed, mutate, PacketGenerator, Rng, type CorpusOptions } from './fuzz-corpus';

export { caseSeed, mutate, PacketGenerator, Rng, type CorpusOptions } from './fuzz-corpus';

/** Where fuzz cases go: a way to open a fresh connection (in-memory pair, TCP socket, ...). */
export interface FuzzTarget {
  name: string;
  open(): Promise<Duplex>;
  corpus?: CorpusOptions;
  /** Protocol versions to draw from (default 3.1.1 and 5 mostly, some 3.1). */
  versions?: readonly (3 | 4 | 5)[];
}

export interface FuzzCase {
  target: string;
  index: number;
  version: 3 | 4 | 5;
  bytes: Buffer;
  /** The CONNECT was sent unmutated, so replies can be parsed with its protocol version. */
  connectIntact: boolean;
  /** Offsets where the bytes are split into separate writes. */
  cuts: number[];
  /** Yield to the event loop between writes. */
  pauses: boolean;
  /** Bytes of the CONNECT to send first and wait for the broker's answer (0: send everything at once). */
  connectFirst: number;
}

export interface FuzzOptions {
  seed: number;
  targets: readonly FuzzTarget[];
  /** Stop after this many cases, or at `durationMs`, whichever comes first (at least one is needed). */
  iterations?: number;
  durationMs?: number;
  /** Connections open at once (default 4). */
  concurrency?: number;
  /** How long the broker has to close a connection after the client ended it (default 3000 ms). */
  closeTimeoutMs?: number;
  /** Called about every `progressMs` (default 60 s) with the report so far. */
  onProgress?: (report: FuzzReport) => void;
  progressMs?: number;
}

export interface FuzzFinding {
  kind: 'crash' | 'hung' | 'malformed-reply';
  detail: string;
  cases: { target: string; index: number; hex: string }[];
}

export interface FuzzReport {
  seed: number;
  iterations: number;
  connections: number;
  /** Bytes sent in all cases. */
  bytes: number;
  /** Uncaught exceptions and unhandled rejections while the fuzzer ran: must be 0. */
  crashes: number;
  /** Connections the broker did not close within closeTimeoutMs after the client ended them. */
  hung: number;
  /** Replies that did not parse as MQTT of the negotiated version. */
  malformedReplies: number;
  /** The first findings of each kind, with the cases in flight (hex) to replay them. */
  findings: FuzzFinding[];
  elapsedMs: number;
}

const maxFindings = 20;
const defaultVersions: readonly (3 | 4 | 5)[] = [4, 4, 5, 5, 5, 3];

export function buildCase(seed: number, index: number, target: FuzzTarget): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const version = rng.pick(target.versions ?? defaultVersions);
  const gen = new PacketGenerator(rng, version, target.corpus);
  const connect = gen.connect();
  const body = Buffer.concat(Array.from({ length: rng.int(10) }, () => gen.packet()));
  const mutateConnect = rng.chance(0.1);
  let bytes: Buffer;
  if (mutateConnect) bytes = mutate(rng, Buffer.concat([connect, body]), gen);
  else bytes = Buffer.concat([connect, rng.chance(0.85) ? mutate(rng, body, gen) : body]);
  const cuts = Array.from({ length: rng.int(3) }, () => rng.int(bytes.length)).sort((a, b) => a - b);
  // Mostly wait for CONNACK before the rest, so the packets after CONNECT reach the handlers
  // (a bad packet in the same chunk would otherwise end the connection before CONNECT completes).
  const connectFirst = !mutateConnect && rng.chance(0.7) ? connect.length : 0;
  return { target: target.name, index, version, bytes, connectIntact: !mutateConnect, cuts, pauses: rng.chance(0.5), connectFirst };
}

function describe(c: FuzzCase): { target: string; index: number; hex: string } {
  return { target: c.target, index: c.index, hex: c.bytes.subarray(0, 2048).toString('hex') };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends one case on a fresh connection, ends it and waits for the broker to close its side. */
async function runCase(target: FuzzTarget, c: FuzzCase, closeTimeoutMs: number, report: FuzzReport, record: (f: FuzzFinding) => void): Promise<void> {
  const stream = await target.open();
  report.connections++;
  // The broker closed its side when the stream ends (or closes) for reading.
  const closed = new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
  });
  stream.on('error', () => undefined);
  if (c.connectIntact) {
    const parser = mqttPacket.parser({ protocolVersion: c.version });
    let failed = false;
    parser.on('error', (error: Error) => {
      if (failed) return;
      failed = true;
      report.malformedReplies++;
      record({ kind: 'malformed-reply', detail: error.message, cases: [describe(c)] });
    });
    stream.on('data', (chunk: Buffer) => {
      if (!failed) parser.parse(chunk);
    });
  } else {
    stream.resume();
  }
  let pos = 0;
  if (c.connectFirst > 0) {
    const answered = new Promise<void>((resolve) => {
      stream.once('data', () => {
        resolve();
      });
      void closed.then(resolve);
    });
    stream.write(c.bytes.subarray(0, c.connectFirst));
    report.bytes += c.connectFirst;
    pos = c.connectFirst;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([answered, new Promise((resolve) => (timer = setTimeout(resolve, closeTimeoutMs)))]);
    clearTimeout(timer);
  }
  for (const cut of [...c.cuts.filter((x) => x > pos), c.bytes.length]) {
    if (stream.destroyed || stream.writableEnded) break;
    // An in-memory peer handles the bytes inside write(): what it throws is the broker's crash.
    if (cut > pos) {
      try {
        stream.write(c.bytes.subarray(pos, cut));
      } catch (error) {
        report.crashes++;
        record({ kind: 'crash', detail: error instanceof Error ? (error.stack ?? error.message) : String(error), cases: [describe(c)] });
      }
    }
    report.bytes += Math.max(0, cut - pos);
    pos = Math.max(pos, cut);
    if (c.pauses) await new Promise((resolve) => setImmediate(resolve));
  }
  if (!stream.destroyed) stream.end();
  let timer: NodeJS.Timeout | undefined;
  const ok = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, closeTimeoutMs, false)))]);
  clearTimeout(timer);
  if (!ok) {
    report.hung++;
    record({ kind: 'hung', detail: `not closed ${closeTimeoutMs} ms after the client ended the connection`, cases: [describe(c)] });
  }
  stream.destroy();
}

/**
 * Runs a seeded mutation fuzzer against one or more targets. Each case is a fresh connection:
 * a valid CONNECT (sometimes mutated) followed by valid packets of that version, mutated.
 * Uncaught exceptions and unhandled rejections during the run are counted as crashes (and not
 * fatal, so the run can report them); the caller asserts on the report.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  if (options.iterations === undefined && options.durationMs === undefined) throw new RangeError('give iterations or durationMs');
  const started = Date.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const limit = options.iterations ?? Number.POSITIVE_INFINITY;
  const closeTimeoutMs = options.closeTimeoutMs ?? 3000;
  const report: FuzzReport = {
    seed: options.seed,
    iterations: 0,
    connections: 0,
    bytes: 0,
    crashes: 0,
    hung: 0,
    malformedReplies: 0,
    findings: [],
    elapsedMs: 0,
  };
  const inFlight = new Set<FuzzCase>();
  const counts = new Map<FuzzFinding['kind'], number>();
  const record = (f: FuzzFinding): void => {
    const n = counts.get(f.kind) ?? 0;
    counts.set(f.kind, n + 1);
    if (n < maxFindings) report.findings.push(f);
  };
  const onCrash = (error: unknown): void => {
    report.crashes++;
    record({ kind: 'crash', detail: error instanceof Error ? (error.stack ?? error.message) : String(error), cases: [...inFlight].map(describe) });
  };
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  let next = 0;
  let lastProgress = started;
  const progressMs = options.progressMs ?? 60_000;
  const worker = async (): Promise<void> => {
    while (next < limit && Date.now() < deadline) {
      const index = next++;
      const target = options.targets[index % options.targets.length];
      if (target === undefined) return;
      const c = buildCase(options.seed, index, target);
      inFlight.add(c);
      try {
        await runCase(target, c, closeTimeoutMs, report, record);
      } catch (error) {
        record({ kind: 'hung', detail: `could not run the case: ${String(error)}`, cases: [describe(c)] });
        report.hung++;
      } finally {
        inFlight.delete(c);
      }
      report.iterations++;
      if (options.onProgress !== undefined && Date.now() - lastProgress >= progressMs) {
        lastProgress = Date.now();
        report.elapsedMs = lastProgress - started;
        options.onProgress(report);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency ?? 4 }, () => worker()));
    // Let exceptions thrown by the last cases' packet handling surface while the handlers listen.
    await delay(50);
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
  report.elapsedMs = Date.now() - started;
  return report;
}

/**
 * A well-behaved subscriber that stays connected while the fuzzer runs: it acknowledges every
 * message, resolves the topic aliases the broker sets, and counts anything wrong it sees
 * (replies that do not parse, unknown aliases, being disconnected).
 */
export class FuzzWatcher {
  received = 0;
  disconnects = 0;
  readonly problems: string[] = [];
  private stream: Duplex | undefined;
  private stopped = false;
  private readonly open: () => Promise<Duplex>;
  private readonly version: 4 | 5;
  private readonly clientId: string;
  private readonly filters: string[];

  constructor(o: { open: () => Promise<Duplex>; version: 4 | 5; clientId: string; filters: string[] }) {
    this.open = o.open;
    this.version = o.version;
    this.clientId = o.clientId;
    this.filters = o.filters;
  }

  async start(): Promise<void> {
    const stream = await this.open();
    this.stream = stream;
    const v = this.version;
    const aliases = new Map<number, string>();
    const send = (p: Packet): void => {
      if (!stream.destroyed) stream.write(mqttPacket.generate(p, { protocolVersion: v }));
    };
    const parser = mqttPacket.parser({ protocolVersion: v });
    parser.on('error', (e: Error) => {
      this.problems.push(`reply did not parse: ${e.message}`);
      stream.destroy();
    });
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'publish') {
        this.received++;
        const alias = p.properties?.topicAlias;
        if (alias !== undefined) {
          if (p.topic.length > 0) aliases.set(alias, p.topic);
          else if (!aliases.has(alias)) this.problems.push(`unknown topic alias ${alias}`);
        }
        if (p.qos === 1) send({ cmd: 'puback', messageId: p.messageId ?? 0 });
        if (p.qos === 2) send({ cmd: 'pubrec', messageId: p.messageId ?? 0 });
      } else if (p.cmd === 'pubrel') {
        send({ cmd: 'pubcomp', messageId: p.messageId ?? 0 });
      } else if (p.cmd === 'disconnect') {
        this.problems.push(`DISCONNECT 0x${(p.reasonCode ?? 0).toString(16)}`);
      }
    });
    stream.on('data', (chunk: Buffer) => parser.parse(chunk));
    stream.on('error', () => undefined);
    stream.once('close', () => {
      if (this.stopped) return;
      this.disconnects++;
      if (this.disconnects < 100) void this.start();
    });
    send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: v,
      clientId: this.clientId,
      clean: true,
      keepalive: 0,
      ...(v === 5 ? { properties: { topicAliasMaximum: 4, receiveMaximum: 50 } } : {}),
    });
    send({ cmd: 'subscribe', messageId: 1, subscriptions: this.filters.map((topic) => ({ topic, qos: 2 as const })) });
  }

  stop(): Promise<void> {
    this.stopped = true;
    const stream = this.stream;
    if (stream === undefined || stream.destroyed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => stream.once('close', resolve));
    stream.end(mqttPacket.generate({ cmd: 'disconnect' }, { protocolVersion: this.version }));
    return Promise.race([closed, delay(2000)]);
  }
}

let gc: (() => void) | undefined;

/** Heap in use after a full garbage collection (exposes gc on first use). */
export function heapUsedAfterGc(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
