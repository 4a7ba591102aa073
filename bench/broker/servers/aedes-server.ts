// aedes with its defaults (as in its README: net.createServer(aedes.handle)) on a free 127.0.0.1 port;
// prints "listening <port>". Started by ../broker-process.ts.
import net from 'node:net';
import Aedes from 'aedes';
import { serveUntilParentLeaves } from './serve';

const broker = new Aedes();
const server = net.createServer((socket) => {
  broker.handle(socket);
});

serveUntilParentLeaves(
  server,
  () =>
    new Promise<void>((resolve) => {
      broker.close(() => {
        resolve();
      });
    }),
);
