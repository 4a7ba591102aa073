// Shared life cycle of the Node broker servers: listen on a free 127.0.0.1 port, report it on stdout, and exit
// cleanly (so --cpu-prof writes its profile) on SIGTERM/SIGINT or when the parent's stdin pipe closes.
import type net from 'node:net';

export function serveUntilParentLeaves(server: net.Server, closeBroker: () => Promise<void>, listen = true): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    // Bounded: a broker that cannot close in 3 s is left to process.exit.
    const force = setTimeout(() => process.exit(0), 3000);
    force.unref();
    server.close();
    closeBroker()
      .catch((err: unknown) => {
        console.error(err);
      })
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();

  const report = (): void => {
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new Error('server has no TCP address');
    process.stdout.write(`listening ${addr.port}\n`);
  };
  if (listen) server.listen(0, '127.0.0.1', report);
  else if (server.listening) report();
  else server.once('listening', report);
}
