import { closeSync, constants, fsyncSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, write } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { TelemetryValue } from '@thingstead/core';
import { ensureOwnerOnlyDir } from '../owner-only';

/** A point as the log holds it: the series is the store's numeric series id. */
export interface WalPoint {
  series: number;
  ts: number;
  value: TelemetryValue;
}

export interface WalOptions {
  /** true: every record is on disk (O_DSYNC) before append() resolves, so an acknowledged point survives power loss. */
  sync: boolean;
  /** A segment is closed and a new one started once it holds this many bytes. */
  segmentBytes: number;
}

interface Segment {
  /** The first log sequence number the file holds; also its name. */
  firstLsn: number;
  /** The last one (firstLsn - 1 while empty). */
  lastLsn: number;
  bytes: number;
  openedAt: number;
}

const header = 8; // u32 payload length, u32 CRC-32 of the payload
const tagNumber = 0;
const tagJson = 1;
const name = (lsn: number): string => `${String(lsn).padStart(16, '0')}.wal`;

/**
 * The telemetry write-ahead log: append-only segment files of checksummed records, one record per committed
 * batch. A record is written (and, with `sync`, on disk) before the batch is acknowledged; the store folds the
 * points into compressed chunks later and then deletes the segments nobody needs any more. A torn record at the
 * end of the last segment (a crash mid-write) is cut off on open: it was never acknowledged.
 */
export class WriteAheadLog {
  private segments: Segment[] = [];
  private fd = -1;
  private nextLsn = 1;
  private tail: Promise<void> = Promise.resolve();
  private failed: Error | undefined;

  /** The write that broke the log, after which it refuses every write (until a restart replays it). */
  get failure(): Error | undefined {
    return this.failed;
  }

  private constructor(
    private readonly dir: string,
    private readonly o: WalOptions,
  ) {}

  /** Opens (creating) the log in `dir` and hands every intact record to `replay`, oldest first. */
  static open(dir: string, o: WalOptions, replay: (lsn: number, points: WalPoint[]) => void): WriteAheadLog {
    ensureOwnerOnlyDir(dir);
    const wal = new WriteAheadLog(dir, o);
    const files = readdirSync(dir)
      .filter((f) => /^\d{16}\.wal$/.test(f))
      .sort();
    files.forEach((file, i) => {
      const path = join(dir, file);
      const buf = readFileSync(path);
      const seg: Segment = { firstLsn: Number(file.slice(0, 16)), lastLsn: Number(file.slice(0, 16)) - 1, bytes: 0, openedAt: Date.now() };
      let off = 0;
      while (off + header <= buf.length) {
        const len = buf.readUInt32LE(off);
        const end = off + header + len;
        if (end > buf.length || crc32(buf.subarray(off + header, end)) !== buf.readUInt32LE(off + 4)) break;
        const { lsn, points } = decodeRecord(buf.subarray(off + header, end));
        replay(lsn, points);
        seg.lastLsn = lsn;
        off = end;
      }
      if (off < buf.length) {
        if (i !== files.length - 1) throw new Error(`The telemetry log ${path} is damaged at byte ${off} (not at its end); move it away to start without it.`);
        truncateSync(path, off);
      }
      seg.bytes = off;
      wal.segments.push(seg);
      wal.nextLsn = Math.max(wal.nextLsn, seg.lastLsn + 1);
    });
    return wal;
  }

  /** The lsn the next append gets. */
  get lsn(): number {
    return this.nextLsn;
  }

  /** Lsns never go back, even after every segment was deleted: the store compares them with what it flushed. */
  advanceTo(lsn: number): void {
    this.nextLsn = Math.max(this.nextLsn, lsn);
  }

  /** Bytes in all segment files. */
  get bytes(): number {
    return this.segments.reduce((n, s) => n + s.bytes, 0);
  }

  /** Closed segments (all but the one being written), oldest first. */
  closedSegments(): readonly Readonly<Segment>[] {
    return this.fd === -1 ? this.segments : this.segments.slice(0, -1);
  }

  /**
   * Writes one record; resolves once it is written (and synced). Records are written in call order; the lsn
   * is returned at once so the caller can order what it does after the write.
   */
  append(points: readonly WalPoint[]): { lsn: number; written: Promise<void> } {
    const lsn = this.nextLsn++;
    const payload = encodeRecord(lsn, points);
    const rec = Buffer.allocUnsafe(header + payload.length);
    rec.writeUInt32LE(payload.length, 0);
    rec.writeUInt32LE(crc32(payload), 4);
    payload.copy(rec, header);
    const written = this.tail.then(() => this.write(lsn, rec));
    this.tail = written.catch(() => undefined);
    return { lsn, written };
  }

  /** Starts a new segment at the next append (the current one becomes closed). */
  rotate(): void {
    this.tail = this.tail.then(() => {
      this.closeFd();
    });
  }

  /** The open segment's age and size, for the store's rotation policy. */
  current(): { bytes: number; ageMs: number } | undefined {
    const s = this.fd === -1 ? undefined : this.segments.at(-1);
    return s && { bytes: s.bytes, ageMs: Date.now() - s.openedAt };
  }

  /** Deletes closed segments whose every record has an lsn below `lsn` (their points are stored elsewhere). */
  deleteBefore(lsn: number): void {
    const closed = this.closedSegments().length;
    let n = 0;
    while (n < closed && (this.segments[n]?.lastLsn ?? Infinity) < lsn) n++;
    for (const s of this.segments.splice(0, n)) rmSync(join(this.dir, name(s.firstLsn)), { force: true });
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.tail;
    this.closeFd();
  }

  private closeFd(): void {
    if (this.fd === -1) return;
    if (!this.o.sync) fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = -1;
  }

  private async write(lsn: number, rec: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    let seg = this.segments.at(-1);
    if (this.fd !== -1 && seg && seg.bytes >= this.o.segmentBytes) this.closeFd();
    if (this.fd === -1 || !seg) {
      seg = { firstLsn: lsn, lastLsn: lsn - 1, bytes: 0, openedAt: Date.now() };
      const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | (this.o.sync ? constants.O_DSYNC : 0);
      this.fd = openSync(join(this.dir, name(lsn)), flags, 0o600);
      if (this.o.sync) syncDir(this.dir);
      this.segments.push(seg);
    }
    const fd = this.fd;
    try {
      await new Promise<void>((resolve, reject) => {
        write(fd, rec, 0, rec.length, null, (e, n) => {
          if (e) reject(e);
          else if (n !== rec.length) reject(new Error(`short write to the telemetry log (${n} of ${rec.length} bytes)`));
          else resolve();
        });
      });
    } catch (e) {
      // A failed or partial write leaves the file in an unknown state: refuse every later write rather than
      // append after garbage (the records before it are intact and replay stops at the damage).
      this.failed = e instanceof Error ? e : new Error(String(e));
      throw this.failed;
    }
    seg.bytes += rec.length;
    seg.lastLsn = lsn;
  }
}

/** Makes a new segment file's directory entry durable. */
function syncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function encodeRecord(lsn: number, points: readonly WalPoint[]): Buffer {
  let size = 12;
  const json: (Buffer | undefined)[] = [];
  for (const p of points) {
    if (typeof p.value === 'number') {
      size += 21;
      json.push(undefined);
    } else {
      const b = Buffer.from(JSON.stringify(p.value));
      json.push(b);
      size += 17 + b.length;
    }
  }
  const buf = Buffer.allocUnsafe(size);
  buf.writeDoubleLE(lsn, 0);
  buf.writeUInt32LE(points.length, 8);
  let off = 12;
  points.forEach((p, i) => {
    buf.writeUInt32LE(p.series, off);
    buf.writeDoubleLE(p.ts, off + 4);
    const b = json[i];
    if (b === undefined) {
      buf.writeUInt8(tagNumber, off + 12);
      buf.writeDoubleLE(p.value as number, off + 13);
      off += 21;
    } else {
      buf.writeUInt8(tagJson, off + 12);
      buf.writeUInt32LE(b.length, off + 13);
      b.copy(buf, off + 17);
      off += 17 + b.length;
    }
  });
  return buf;
}

function decodeRecord(buf: Buffer): { lsn: number; points: WalPoint[] } {
  const lsn = buf.readDoubleLE(0);
  const n = buf.readUInt32LE(8);
  const points: WalPoint[] = [];
  let off = 12;
  for (let i = 0; i < n; i++) {
    const series = buf.readUInt32LE(off);
    const ts = buf.readDoubleLE(off + 4);
    if (buf.readUInt8(off + 12) === tagNumber) {
      points.push({ series, ts, value: buf.readDoubleLE(off + 13) });
      off += 21;
    } else {
      const len = buf.readUInt32LE(off + 13);
      points.push({ series, ts, value: JSON.parse(buf.toString('utf8', off + 17, off + 17 + len)) as TelemetryValue });
      off += 17 + len;
    }
  }
  return { lsn, points };
}
