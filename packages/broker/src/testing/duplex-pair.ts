import { Duplex } from 'node:stream';

/**
 * Two connected in-memory Duplex streams: what one writes, the other reads. A write completes
 * only when the peer's reader has room, so a reader that stops reading creates real
 * back-pressure, as a TCP socket would.
 */
export function duplexPair(highWaterMark = 16 * 1024): [Duplex, Duplex] {
  const sides: Duplex[] = [];
  const pending: ((() => void) | undefined)[] = [undefined, undefined];
  const ended = [false, false];
  const make = (self: number): Duplex => {
    const other = 1 - self;
    const peerPush = (chunk: Buffer | null): boolean => {
      const peer = sides[other];
      // A destroyed peer drops what is written to it, as a closed socket would.
      if (peer === undefined || ended[other] === true || peer.destroyed) return true;
      if (chunk === null) ended[other] = true;
      return peer.push(chunk);
    };
    return new Duplex({
      highWaterMark,
      read() {
        const release = pending[other];
        pending[other] = undefined;
        release?.();
      },
      write(chunk: Buffer, _encoding, callback) {
        if (peerPush(chunk)) callback();
        else pending[self] = callback;
      },
      final(callback) {
        peerPush(null);
        callback();
      },
      destroy(error, callback) {
        peerPush(null);
        const release = pending[self];
        pending[self] = undefined;
        release?.();
        callback(error);
      },
    });
  };
  sides.push(make(0), make(1));
  return [sides[0] as Duplex, sides[1] as Duplex];
}
