// The device side of the RPC benchmark, in a process of its own: N MQTT connections (raw sockets, mqtt-packet for
// the handshake), each subscribed to v1/devices/me/rpc/request/+ and answering every command at once on
// v1/devices/me/rpc/response/{id} with {"echo":<the request's JSON>}, at QoS 1 like ThingsBoard's SDKs.
// Driven over IPC by run.ts: {t:'connect', port, tokens, protocol} -> {t:'connected'}; exits when the channel closes.
import mqttPacket from 'mqtt-packet';
import { connect, type Socket } from 'node:net';
import { FrameSplitter } from '../lib/mqtt-frames';

export type ToDevices = { t: 'connect'; port: number; tokens: string[]; protocol: 4 | 5 } | { t: 'stats' };
export type FromDevices = { t: 'connected' } | { t: 'stats'; answered: number; sockets: number } | { t: 'error'; message: string };

const send = (m: FromDevices): void => {
  if (process.connected) process.send?.(m);
};
let answered = 0;
const sockets: Socket[] = [];
const requestPrefix = Buffer.from('v1/devices/me/rpc/request/');
const responsePrefix = 'v1/devices/me/rpc/response/';

process.on('disconnect', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
process.on('message', (m: ToDevices) => {
  if (m.t === 'stats') {
    send({ t: 'stats', answered, sockets: sockets.filter((s) => !s.destroyed).length });
    return;
  }
  connectAll(m).then(
    () => {
      send({ t: 'connected' });
    },
    (err: unknown) => {
      send({ t: 'error', message: err instanceof Error ? err.message : String(err) });
    },
  );
});

async function connectAll(m: Extract<ToDevices, { t: 'connect' }>): Promise<void> {
  let next = 0;
  // A few handshakes at a time: the server authenticates each (a token lookup), like a fleet coming online.
  const worker = async (): Promise<void> => {
    for (let i = next++; i < m.tokens.length; i = next++) await device(m.port, m.tokens[i]!, i, m.protocol);
  };
  await Promise.all(Array.from({ length: 20 }, worker));
}

function device(port: number, token: string, i: number, protocol: 4 | 5): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: '127.0.0.1', noDelay: true });
    sockets.push(s);
    const opts = { protocolVersion: protocol };
    const frames = new FrameSplitter();
    let packetId = 1;
    let ready = false;
    const timer = setTimeout(() => {
      reject(new Error(`device ${i}: no CONNACK/SUBACK within 30 s`));
    }, 30_000);
    s.on('error', (err) => {
      if (!ready) reject(err);
    });
    s.on('close', () => {
      if (!ready) reject(new Error(`device ${i}: closed during the handshake`));
    });
    s.on('connect', () => {
      s.write(
        mqttPacket.generate(
          { cmd: 'connect', protocolId: 'MQTT', protocolVersion: protocol, clientId: `rpc-bench-${i}`, username: token, clean: true, keepalive: 600 },
          opts,
        ),
      );
    });
    s.on('data', (chunk: Buffer) => {
      const out: Buffer[] = [];
      frames.push(chunk, (b0, buf, _start, bodyStart, end) => {
        const type = b0 >> 4;
        if (type === 2) {
          s.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'v1/devices/me/rpc/request/+', qos: 1 }] }, opts));
        } else if (type === 9) {
          ready = true;
          clearTimeout(timer);
          resolve();
        } else if (type === 3) {
          // PUBLISH: topic length, topic, packet id (QoS 1), [v5 properties], payload.
          const topicLen = buf.readUInt16BE(bodyStart);
          const topicStart = bodyStart + 2;
          const topic = buf.subarray(topicStart, topicStart + topicLen);
          let off = topicStart + topicLen;
          const qos = (b0 >> 1) & 3;
          let pid = 0;
          if (qos > 0) {
            pid = buf.readUInt16BE(off);
            off += 2;
          }
          if (protocol === 5) {
            // Property length (a variable byte integer), then the properties: skipped.
            let len = 0;
            let mul = 1;
            let b;
            do {
              b = buf[off++]!;
              len += (b & 0x7f) * mul;
              mul *= 128;
            } while (b & 0x80);
            off += len;
          }
          const payload = buf.subarray(off, end);
          if (qos > 0) out.push(Buffer.from([0x40, 2, pid >> 8, pid & 0xff]));
          if (topic.subarray(0, requestPrefix.length).equals(requestPrefix)) {
            const id = topic.subarray(requestPrefix.length).toString();
            packetId = packetId === 65535 ? 1 : packetId + 1;
            out.push(
              mqttPacket.generate(
                {
                  cmd: 'publish',
                  topic: responsePrefix + id,
                  qos: 1,
                  messageId: packetId,
                  dup: false,
                  retain: false,
                  payload: Buffer.concat([Buffer.from('{"echo":'), payload, Buffer.from('}')]),
                },
                opts,
              ),
            );
            answered++;
          }
        }
        // PUBACKs for our answers (type 4) and anything else: nothing to do.
      });
      if (out.length > 0) s.write(out.length === 1 ? out[0]! : Buffer.concat(out));
    });
  });
}
