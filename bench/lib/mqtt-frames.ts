/**
 * Splits a TCP byte stream into whole MQTT packets without decoding them: the load generators' hot path, where
 * a full parser (mqtt-packet) would be the bottleneck.
 */
export class FrameSplitter {
  private pending: Buffer | null = null;

  /**
   * Calls onFrame(firstByte, buf, start, bodyStart, end) for every complete packet (buf[start] is the first byte) in what has arrived; keeps a partial
   * packet for the next chunk. Returns false if a Remaining Length is longer than 4 bytes (malformed).
   */
  push(chunk: Buffer, onFrame: (b0: number, buf: Buffer, start: number, bodyStart: number, end: number) => void): boolean {
    let buf = chunk;
    if (this.pending !== null) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const len = buf.length;
    let off = 0;
    while (len - off >= 2) {
      const b0 = buf[off]!;
      // Remaining Length: a variable byte integer of at most 4 bytes (MQTT §1.5.5).
      let rl = 0;
      let mul = 1;
      let i = off + 1;
      let complete = false;
      while (i < len && i - off <= 4) {
        const b = buf[i++]!;
        rl += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete) {
        if (i - off > 4) return false;
        break;
      }
      const end = i + rl;
      if (end > len) break;
      onFrame(b0, buf, off, i, end);
      off = end;
    }
    if (off < len) this.pending = buf.subarray(off);
    return true;
  }
}
