import type { Socket } from 'node:net';

/** Ends the socket with `last` (e.g. a DISCONNECT packet) and waits for it to close, destroying it after timeoutMs. */
export function closeSocket(socket: Socket, last: Buffer, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      socket.destroy();
      resolve();
    }, timeoutMs);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end(last);
  });
}
