// Thingstead's broker (packages/broker) on a free 127.0.0.1 port, through its own TCP listener; prints
// "listening <port>". Started by ../broker-process.ts.
//
// Defaults, except the per-client queue: 1,000,000 like the Mosquitto config, because with the default (1000)
// a 4 -> 1 QoS 1 flood overflows the subscriber's queue and most messages are dropped, which would measure
// the drop policy rather than the delivery rate. The in-flight window stays at its default (1024; Mosquitto 1000).
import { Broker, listenTcp } from '@thingstead/broker';
import { serveUntilParentLeaves } from './serve';

const broker = new Broker({ limits: { maxQueuedMessages: 1_000_000 } });
await broker.ready;
const listener = await listenTcp(broker, { port: 0, host: '127.0.0.1' });
serveUntilParentLeaves(listener.server, () => broker.close(), false);
